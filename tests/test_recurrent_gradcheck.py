"""Finite differences agree with backward for every recurrent cell and stack configuration, on both
the fused and the composed path, w.r.t. the input, the initial states and every parameter (float64)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from recurrent_grid import CELL_KINDS, FUSED_PATH_IDS, FUSED_PATHS, fused_option, grid

T, B, I, H = 3, 2, 3, 2

KINDS = CELL_KINDS
GRID = grid(KINDS)


def grid_id(config):
    kind, layers, bidirectional, batch_first, bias = config
    return f"{kind}-L{layers}" + ("-bi" if bidirectional else "") + ("-bf" if batch_first else "") + \
        ("" if bias else "-nobias")


def check_stack(kind, fused, layers=1, bidirectional=False, batch_first=False, bias=True, fast=True,
                lengths=None, batch=B):
    tg.manual_seed(0)
    stack_name, _, extra = KINDS[kind]
    module = getattr(tg.nn, stack_name)(I, H, num_layers=layers, bidirectional=bidirectional,
                                        batch_first=batch_first, bias=bias, dtype=np.float64, fused=fused, **extra)
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((batch, T, I) if batch_first else (T, batch, I)), requires_grad=True)
    state_shape = (layers * (2 if bidirectional else 1), batch, H)
    states = [Tensor(0.5 * rng.standard_normal(state_shape), requires_grad=True)
              for _ in range(2 if kind == "lstm" else 1)]
    params = module.parameters()
    count = len(states)

    def fn(x, *rest):
        hx = rest[:count]
        return module(x, hx if count == 2 else hx[0], lengths=lengths)

    assert tg.gradcheck(fn, [x, *states, *params], fast=fast)


@pytest.mark.parametrize("config", GRID, ids=grid_id)
@pytest.mark.parametrize("path", FUSED_PATHS, ids=FUSED_PATH_IDS)
def test_stack_gradcheck_directional(config, path, monkeypatch):
    kind, layers, bidirectional, batch_first, bias = config
    check_stack(kind, fused_option(path, monkeypatch), layers, bidirectional, batch_first, bias, fast=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", FUSED_PATHS, ids=FUSED_PATH_IDS)
def test_stack_gradcheck_every_element(kind, path, monkeypatch):
    """Every element of every input: a two-layer bidirectional stack, so all four weight sets are covered."""
    check_stack(kind, fused_option(path, monkeypatch), layers=2, bidirectional=True, fast=False)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_stack_gradcheck_with_lengths(kind, fused):
    check_stack(kind, fused, layers=2, bidirectional=True, fast=True, lengths=np.array([1, 3, 2]), batch=3)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck_every_element(kind, fused, bias):
    tg.manual_seed(0)
    _, cell_name, extra = KINDS[kind]
    cell = getattr(tg.nn, cell_name)(I, H, bias=bias, dtype=np.float64, fused=fused, **extra)
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((B, I)), requires_grad=True)
    states = [Tensor(rng.standard_normal((B, H)), requires_grad=True) for _ in range(2 if kind == "lstm" else 1)]

    def fn(x, *rest):
        states = rest[:len(rest) - len(cell.parameters())]
        return cell(x, tuple(states) if len(states) == 2 else states[0])

    assert tg.gradcheck(fn, [x, *states, *cell.parameters()])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cell_gradcheck_unbatched(kind):
    tg.manual_seed(0)
    _, cell_name, extra = KINDS[kind]
    cell = getattr(tg.nn, cell_name)(I, H, dtype=np.float64, **extra)
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal(I), requires_grad=True)
    states = [Tensor(rng.standard_normal(H), requires_grad=True) for _ in range(2 if kind == "lstm" else 1)]
    fn = (lambda x, h, c: cell(x, (h, c))) if kind == "lstm" else (lambda x, h: cell(x, h))
    assert tg.gradcheck(fn, [x, *states])


class WrongTanhStep(tg.Function):
    """A recurrent step h = tanh(xp + h_prev W^T) whose backward forgets the recurrent path to h_prev."""

    def forward(self, xp, h_prev, w_hh):
        self.h, self.h_prev = np.tanh(xp + h_prev @ w_hh.T), h_prev
        return self.h

    def backward(self, dh):
        dpre = dh * (1 - self.h ** 2)
        return dpre, np.zeros_like(self.h_prev), dpre.T @ self.h_prev


def test_checker_catches_a_step_that_drops_the_recurrent_gradient():
    rng = np.random.default_rng(0)
    xs = Tensor(rng.standard_normal((T, B, H)), requires_grad=True)
    w = Tensor(rng.standard_normal((H, H)), requires_grad=True)

    def unroll(xs, w):
        h = Tensor(np.zeros((B, H)))
        for t in range(T):
            h = WrongTanhStep.apply(xs[t], h, w)
        return h

    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(unroll, [xs, w])
