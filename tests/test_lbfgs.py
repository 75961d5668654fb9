"""L-BFGS: converges to the known optimum of a quadratic and of Rosenbrock's function, takes the same
iterates as torch.optim.LBFGS (float64, with and without the strong-Wolfe search), keeps float32, errors."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn.optim import LBFGS

N = 6
RNG = np.random.default_rng(0)
M = RNG.standard_normal((N, N))
A = M @ M.T + 0.5 * N * np.eye(N)          # symmetric positive definite
B = RNG.standard_normal(N)
X0 = np.array([-1.2, 1.0, -0.5, 0.8])


def quadratic(x, a, b):
    return 0.5 * (x @ a @ x) - (b * x).sum()     # minimum at A^-1 b


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def run(objective, x0, steps, **options):
    """Iterates of tinygrad_rnn's LBFGS after each step(), and the optimizer."""
    x = Tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        return loss

    return np.array([(opt.step(closure), x.data.copy())[1] for _ in range(steps)]), opt


def run_torch(torch, objective, x0, steps, **options):
    """The same for torch.optim.LBFGS: its iterates after each step(), and the optimizer and parameter."""
    x = torch.tensor(np.array(x0, dtype=np.float64), requires_grad=True)
    opt = torch.optim.LBFGS([x], **options)

    def closure():
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        return loss

    return np.array([(opt.step(closure), x.detach().numpy().copy())[1] for _ in range(steps)]), opt, x


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_quadratic_converges_to_the_solution(line_search_fn):
    a, b = Tensor(A), Tensor(B)
    xs, _ = run(lambda x: quadratic(x, a, b), np.zeros(N), 3, line_search_fn=line_search_fn,
                tolerance_change=1e-15)
    np.testing.assert_allclose(xs[-1], np.linalg.solve(A, B), atol=1e-8)


def test_rosenbrock_converges_to_ones():
    xs, opt = run(rosenbrock, X0, 3, line_search_fn="strong_wolfe", max_iter=100)
    np.testing.assert_allclose(xs[-1], np.ones(4), atol=1e-5)
    state = next(iter(opt.state.values()))
    assert state["n_iter"] < 100                   # stopped on a tolerance, not by running out


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("options", [{"max_iter": 3}, {"max_iter": 20}, {"max_iter": 2, "history_size": 2}])
def test_same_iterates_as_torch_on_a_quadratic(line_search_fn, options):
    torch = pytest.importorskip("torch")
    a, b = Tensor(A), Tensor(B)
    ours, opt = run(lambda x: quadratic(x, a, b), np.zeros(N), 4, line_search_fn=line_search_fn, **options)
    at, bt = torch.tensor(A), torch.tensor(B)
    theirs, ref, xt = run_torch(torch, lambda x: quadratic(x, at, bt), np.zeros(N), 4,
                                line_search_fn=line_search_fn, **options)
    np.testing.assert_allclose(ours, theirs, atol=1e-8, rtol=0)
    assert next(iter(opt.state.values()))["func_evals"] == ref.state[xt]["func_evals"]


def test_same_iterates_as_torch_on_rosenbrock_with_line_search():
    torch = pytest.importorskip("torch")
    ours, _ = run(rosenbrock, X0, 2, line_search_fn="strong_wolfe", max_iter=15)
    theirs, _, _ = run_torch(torch, rosenbrock, X0, 2, line_search_fn="strong_wolfe", max_iter=15)
    np.testing.assert_allclose(ours, theirs, atol=1e-8, rtol=0)


def test_float32_stays_float32_and_several_parameters():
    w = Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    v = Tensor(np.zeros(3, np.float32), requires_grad=True)
    target_w, target_v = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, -1, 2], np.float32)
    opt = LBFGS([w, v], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - Tensor(target_w)) ** 2).sum() + ((v - Tensor(target_v)) ** 2).sum()
        loss.backward()
        return loss

    first = opt.step(closure)
    assert first.item() == pytest.approx(float((target_w ** 2).sum() + (target_v ** 2).sum()))
    assert w.data.dtype == np.float32 and v.data.dtype == np.float32
    np.testing.assert_allclose(w.data, target_w, atol=1e-5)
    np.testing.assert_allclose(v.data, target_v, atol=1e-5)


def test_stops_at_once_when_the_gradient_is_zero():
    x = Tensor(np.ones(2), requires_grad=True)
    opt = LBFGS([x])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert len(calls) == 1 and x.data.tolist() == [1.0, 1.0]


def test_errors():
    x = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="LBFGS: line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="LBFGS: max_iter must be a positive int, got 0"):
        LBFGS([x], max_iter=0)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        LBFGS([x], lr=-1)
    with pytest.raises(ValueError, match="LBFGS: expected one parameter group, got 2"):
        LBFGS([{"params": [x]}, {"params": [Tensor(np.zeros(1), requires_grad=True)]}])
    with pytest.raises(TypeError, match=r"LBFGS: expected parameters of one dtype, got \['float32', 'float64'\]"):
        LBFGS([x, Tensor(np.zeros(1, np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="LBFGS: step needs a closure"):
        LBFGS([x]).step()
    opt = LBFGS([x])

    def bad():
        opt.zero_grad()
        loss = (x - np.inf).sum()
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="LBFGS: the closure gave a non-finite loss"):
        opt.step(bad)
