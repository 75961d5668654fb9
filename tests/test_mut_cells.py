"""MUT1-3 (Jozefowicz et al., 2015): the cells compute the slides' equations (an independent NumPy
version), gradients agree with finite differences for cells and stacks, names and errors are as documented."""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor

B, H = 2, 3
VARIANTS = (1, 2, 3)


def sig(a):
    return 1 / (1 + np.exp(-a))


def numpy_mut(variant, x, h, p):
    """The slides' equations, from the documented gate stacking of the parameter arrays."""
    H = h.shape[1]
    w_ih, w_hh = p["weight_ih"], p["weight_hh"]
    b_ih = p.get("bias_ih", np.zeros(len(w_ih)))
    b_hh = p.get("bias_hh", np.zeros(len(w_hh)))
    xt = x @ p["weight_proj"].T if "weight_proj" in p else x      # x itself when I = H

    def rows(w, k):
        return w[k * H:(k + 1) * H]

    if variant == 1:
        z = sig(x @ rows(w_ih, 0).T + rows(b_ih, 0))
        r = sig(x @ rows(w_ih, 1).T + rows(b_ih, 1) + h @ rows(w_hh, 0).T + rows(b_hh, 0))
        cand = np.tanh((r * h) @ rows(w_hh, 1).T + rows(b_hh, 1) + np.tanh(xt))
    elif variant == 2:
        z = sig(x @ rows(w_ih, 0).T + rows(b_ih, 0) + h @ rows(w_hh, 0).T + rows(b_hh, 0))
        r = sig(xt + h @ rows(w_hh, 1).T + rows(b_hh, 1))
        cand = np.tanh((r * h) @ rows(w_hh, 2).T + rows(b_hh, 2) + x @ rows(w_ih, 1).T + rows(b_ih, 1))
    else:
        z = sig(x @ rows(w_ih, 0).T + rows(b_ih, 0) + np.tanh(h) @ rows(w_hh, 0).T + rows(b_hh, 0))
        r = sig(x @ rows(w_ih, 1).T + rows(b_ih, 1) + h @ rows(w_hh, 1).T + rows(b_hh, 1))
        cand = np.tanh((r * h) @ rows(w_hh, 2).T + rows(b_hh, 2) + x @ rows(w_ih, 2).T + rows(b_ih, 2))
    return cand * z + h * (1 - z)


def cell(variant, input_size, bias=True):
    tg.manual_seed(variant)
    return getattr(tg.nn, f"MUT{variant}Cell")(input_size, H, bias=bias, dtype=np.float64)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("input_size", [H, 5])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_the_equations(variant, input_size, bias):
    c = cell(variant, input_size, bias)
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((B, input_size)), rng.standard_normal((B, H))
    params = {name: p.data for name, p in c.named_parameters()}
    got = c(Tensor(x), Tensor(h)).numpy()
    np.testing.assert_allclose(got, numpy_mut(variant, x, h, params), rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_parameter_layout(variant):
    ih, hh = {1: (2, 2), 2: (2, 3), 3: (3, 3)}[variant]
    shapes = {name: p.shape for name, p in cell(variant, H).named_parameters()}
    assert shapes == {"weight_ih": (ih * H, H), "weight_hh": (hh * H, H), "bias_ih": (ih * H,), "bias_hh": (hh * H,)}
    projected = {name: p.shape for name, p in cell(variant, 5).named_parameters()}
    assert ("weight_proj" in projected) == (variant in (1, 2))      # MUT3 never adds x to an H-wide vector
    if variant in (1, 2):
        assert projected["weight_proj"] == (H, 5)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("input_size", [H, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_every_element(variant, input_size, bias):
    c = cell(variant, input_size, bias)
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((B, input_size)), requires_grad=True)
    h = Tensor(rng.standard_normal((B, H)), requires_grad=True)
    assert tg.gradcheck(lambda x, h, *_: c(x, h), [x, h, *c.parameters()])


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stack_gradcheck(variant, bidirectional):
    tg.manual_seed(0)
    stack = getattr(tg.nn, f"MUT{variant}")(H, H, num_layers=2, bidirectional=bidirectional, dtype=np.float64)
    rng = np.random.default_rng(2)
    d = 2 if bidirectional else 1
    x = Tensor(rng.standard_normal((3, B, H)), requires_grad=True)
    h0 = Tensor(0.5 * rng.standard_normal((2 * d, B, H)), requires_grad=True)
    # every element one way; the bidirectional stack (twice the parameters) by random directions
    assert tg.gradcheck(lambda x, h0, *_: stack(x, h0), [x, h0, *stack.parameters()], fast=bidirectional)


@pytest.mark.parametrize("variant", VARIANTS)
def test_stack_gradcheck_with_lengths_batch_first(variant):
    tg.manual_seed(0)
    stack = getattr(tg.nn, f"MUT{variant}")(2, H, num_layers=2, bidirectional=True, batch_first=True,
                                            dtype=np.float64)
    x = Tensor(np.random.default_rng(3).standard_normal((3, 4, 2)), requires_grad=True)
    lengths = np.array([4, 1, 3])
    assert tg.gradcheck(lambda x, *_: stack(x, lengths=lengths), [x, *stack.parameters()], fast=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_stack_is_the_cell_looped_over_time_in_both_directions(variant):
    tg.manual_seed(0)
    stack = getattr(tg.nn, f"MUT{variant}")(4, H, bidirectional=True, dtype=np.float64)
    x = np.random.default_rng(4).standard_normal((5, B, 4))
    output, h_n = stack(Tensor(x))
    for direction, suffix in ((0, "_l0"), (1, "_l0_reverse")):
        params = {name[:-len(suffix)]: p.data for name, p in stack.named_parameters() if name.endswith(suffix)}
        h = np.zeros((B, H))
        steps = range(5) if direction == 0 else range(4, -1, -1)
        for t in steps:
            h = numpy_mut(variant, x[t], h, params)
            np.testing.assert_allclose(output.numpy()[t, :, direction * H:(direction + 1) * H], h, atol=1e-12)
        np.testing.assert_allclose(h_n.numpy()[direction], h, atol=1e-12)


def test_names_shapes_and_float32():
    mut = tg.nn.MUT2(5, 4, num_layers=2, bidirectional=True)
    names = [name for name, _ in mut.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_proj_l0"]
    assert "weight_proj_l1_reverse" in names                          # layer 1 reads 2H = 8 != 4
    output, h_n = mut(Tensor(np.ones((3, 5), np.float32)))            # unbatched (T, I)
    assert output.shape == (3, 8) and h_n.shape == (4, 4)
    assert output.dtype == np.float32 and h_n.dtype == np.float32


def test_errors_name_what_was_expected():
    mut = tg.nn.MUT1(4, 3, num_layers=2)
    with pytest.raises(ValueError, match=r"MUT1: expected input of shape \(T, B, 4\) or \(T, 4\), got \(5, 2, 3\)"):
        mut(Tensor(np.zeros((5, 2, 3), np.float32)))
    with pytest.raises(ValueError, match=r"MUT1: expected h0 of shape \(2, 2, 3\), got \(1, 2, 3\)"):
        mut(Tensor(np.zeros((5, 2, 4), np.float32)), Tensor(np.zeros((1, 2, 3), np.float32)))
    with pytest.raises(TypeError, match="MUT3Cell: hidden_size must be an int, got float"):
        tg.nn.MUT3Cell(3, 2.0)
    with pytest.raises(ValueError, match="MUT2: num_layers must be positive, got 0"):
        tg.nn.MUT2(3, 3, num_layers=0)
    with pytest.raises(ValueError, match=r"MUT2Cell: expected input with last dimension 3, got shape \(2, 4\)"):
        tg.nn.MUT2Cell(3, 3)(Tensor(np.zeros((2, 4), np.float32)))
