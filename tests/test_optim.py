"""Optimizers and gradient clipping: update rules vs NumPy references written from the equations, dtype
preservation, skipped parameters, checkpoints, constructor errors, and parity with torch.optim."""

import json
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.optim import (
    SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_,
)

SHAPES = [(3, 4), (5,)]
STEPS = 6

# (class, keyword arguments): every option of every optimizer shows up at least once
CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    (Adagrad, dict(lr=0.1)),
    (Adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.01, initial_accumulator_value=0.5, eps=1e-6)),
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, centered=True)),
    (RMSprop, dict(lr=0.01, momentum=0.8, weight_decay=0.01)),
    (RMSprop, dict(lr=0.02, alpha=0.9, centered=True, momentum=0.5, eps=1e-4)),
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.01, weight_decay=0.1)),
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, eps=1e-6)),
    (AdamW, dict(lr=0.01)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, kw in CONFIGS]


def param(array):
    return tg.Tensor(np.array(array), requires_grad=True)


def make_problem(dtype, seed=0):
    """Initial values and STEPS gradients per parameter; magnitudes vary a lot so amsgrad's max matters."""
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    scale = [3.0, 0.2, 1.0, 0.05, 2.0, 0.5, 0.1, 1.5][:STEPS]
    grads = [[(rng.standard_normal(s) * scale[t]).astype(dtype) for s in SHAPES] for t in range(STEPS)]
    return inits, grads


# ----------------------------------------------------------------------------- NumPy references
# PyTorch's documented defaults, written out here so that a wrong default in the code cannot hide
REFERENCE_DEFAULTS = {
    SGD: dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
    Adagrad: dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10),
    RMSprop: dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
    Adam: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    AdamW: dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
}


def reference(cls, kw, inits, grads):
    """Run the optimizer's equations, written out plainly (no in-place tricks), over all steps."""
    h = {**REFERENCE_DEFAULTS[cls], **kw}
    ps = [x.astype(np.float64) for x in inits]
    state = [{} for _ in ps]
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            p, s, g = ps[i], state[i], g.astype(np.float64)
            if cls is SGD:
                if h["weight_decay"]:
                    g = g + h["weight_decay"] * p
                if h["momentum"]:
                    s["b"] = g if t == 1 else h["momentum"] * s["b"] + (1 - h["dampening"]) * g
                    g = g + h["momentum"] * s["b"] if h["nesterov"] else s["b"]
                ps[i] = p - h["lr"] * g
            elif cls is Adagrad:
                if h["weight_decay"]:
                    g = g + h["weight_decay"] * p
                clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])
                s["sum"] = s.get("sum", np.full_like(p, h["initial_accumulator_value"])) + g * g
                ps[i] = p - clr * g / (np.sqrt(s["sum"]) + h["eps"])
            elif cls is RMSprop:
                a = h["alpha"]
                if h["weight_decay"]:
                    g = g + h["weight_decay"] * p
                s["v"] = a * s.get("v", 0.0) + (1 - a) * g * g
                if h["centered"]:
                    s["m"] = a * s.get("m", 0.0) + (1 - a) * g
                    d = np.sqrt(s["v"] - s["m"] ** 2) + h["eps"]
                else:
                    d = np.sqrt(s["v"]) + h["eps"]
                if h["momentum"] > 0:
                    s["b"] = h["momentum"] * s.get("b", 0.0) + g / d
                    ps[i] = p - h["lr"] * s["b"]
                else:
                    ps[i] = p - h["lr"] * g / d
            else:  # Adam, AdamW
                b1, b2 = h["betas"]
                if cls is AdamW:
                    p = p * (1 - h["lr"] * h["weight_decay"])
                elif h["weight_decay"]:
                    g = g + h["weight_decay"] * p
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                v = s["v"]
                if h["amsgrad"]:
                    s["vmax"] = v = np.maximum(s.get("vmax", 0.0), v)
                m_hat = s["m"] / (1 - b1 ** t)
                v_hat = v / (1 - b2 ** t)
                ps[i] = p - h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
    return ps


def run(cls, kw, inits, grads):
    params = [param(x) for x in inits]
    opt = cls(params, **kw)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.copy()
        opt.step()
    return params, opt


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_matches_numpy_reference_float64(cls, kw):
    inits, grads = make_problem(np.float64)
    params, _ = run(cls, kw, inits, grads)
    for p, want, x0 in zip(params, reference(cls, kw, inits, grads), inits):
        assert not np.allclose(want, x0)                  # the reference did move
        np.testing.assert_allclose(p.data, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_float32_stays_float32_even_with_numpy_scalar_hyperparameters(cls, kw):
    inits, grads = make_problem(np.float32)
    kw32 = {k: (np.float64(v) if isinstance(v, float) else v) for k, v in kw.items()}
    params, opt = run(cls, kw32, inits, grads)
    for p, want in zip(params, reference(cls, kw, inits, grads)):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, want, rtol=2e-4, atol=2e-5)
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_strided_parameters_get_the_same_update(cls, kw):
    """Parameters whose arrays are not C-contiguous (where Adagrad leaves its one-pass kernel for NumPy)."""
    inits, grads = make_problem(np.float64)
    want = reference(cls, kw, inits, grads)
    params = [tg.Tensor(np.asfortranarray(x) if x.ndim == 2 else np.repeat(x, 2)[::2], requires_grad=True)
              for x in inits]
    assert not any(p.data.flags.c_contiguous for p in params if p.data.size > 1)
    opt = cls(params, **kw)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = np.asfortranarray(g) if g.ndim == 2 else np.repeat(g, 2)[::2]
        opt.step()
    for p, w in zip(params, want):
        np.testing.assert_allclose(p.data, w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_updates_in_place_and_skips_params_without_grad(cls, kw):
    a, b = param(np.ones((2, 3))), param(np.ones(4))
    a_array, b_before = a.data, b.data.copy()
    opt = cls([a, b], **kw)
    a.grad = np.full((2, 3), 0.5)
    opt.step()
    opt.step()
    assert a.data is a_array and not np.allclose(a_array, 1.0)
    np.testing.assert_array_equal(b.data, b_before)
    assert opt.state.get(id(b), {}) == {}
    assert 1 not in opt.state_dict()["state"]


def _check_plain(x, where="state_dict"):
    if isinstance(x, dict):
        for k, v in x.items():
            assert isinstance(k, (str, int)), where
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            _check_plain(v, f"{where}[{i}]")
    else:
        assert isinstance(x, (np.ndarray, bool, int, float, str, type(None))), f"{where}: {type(x).__name__}"


def _through_npz_json(sd):
    """What a checkpoint does: arrays to an array table, the rest to JSON (so int keys come back as str)."""
    arrays = {}

    def strip(x):
        if isinstance(x, np.ndarray):
            arrays[f"a{len(arrays)}"] = x.copy()
            return {"__array__": f"a{len(arrays) - 1}"}
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    def fill(x):
        if isinstance(x, dict):
            return arrays[x["__array__"]] if "__array__" in x else {k: fill(v) for k, v in x.items()}
        if isinstance(x, list):
            return [fill(v) for v in x]
        return x

    return fill(json.loads(json.dumps(strip(sd))))


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(cls, kw):
    inits, grads = make_problem(np.float64, seed=1)
    params, opt = run(cls, kw, inits, grads[:3])
    saved = opt.state_dict()
    _check_plain(saved)
    copy_of_saved = _through_npz_json(saved)

    clones = [param(p.data.copy()) for p in params]
    other = cls([{"params": clones}], lr=123.0)           # hyper-parameters come back from the state dict
    other.load_state_dict(copy_of_saved)
    assert other.param_groups[0]["lr"] == kw["lr"]
    for gs in grads[3:]:
        for ps in (params, clones):
            for p, g in zip(ps, gs):
                p.grad = g.copy()
        opt.step()
        other.step()
    for p, q in zip(params, clones):
        np.testing.assert_array_equal(p.data, q.data)
    # the saved dict holds copies: later steps did not change it
    for k, st in saved["state"].items():
        for name, v in st.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_array_equal(v, copy_of_saved["state"][str(k)][name])


def test_load_state_dict_validates():
    a, b = param(np.ones(3)), param(np.ones((2, 2)))
    opt = Adam([a, b])
    a.grad, b.grad = np.ones(3), np.ones((2, 2))
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match=r"expected 2 parameter groups, the state dict has 1"):
        Adam([{"params": [param(np.ones(3))]}, {"params": [param(np.ones((2, 2)))]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"expected 1 parameters in group 0, the state dict has 2"):
        Adam([param(np.ones(3))]).load_state_dict(sd)
    swapped = Adam([param(np.ones((2, 2))), param(np.ones(3))])
    with pytest.raises(ValueError, match=r"expected state 'exp_avg' of parameter 0 to have shape \(2, 2\), got \(3,\)"):
        swapped.load_state_dict(sd)
    assert swapped.state == {}                           # a failed load changes nothing
    bad = opt.state_dict()
    bad["state"][7] = bad["state"].pop(1)
    with pytest.raises(ValueError, match=r"state refers to parameter 7, but the optimizer has 2 parameters"):
        Adam([param(np.ones(3)), param(np.ones((2, 2)))]).load_state_dict(bad)
    with pytest.raises(ValueError, match=r"expected a dict with 'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_load_state_dict_casts_state_to_the_parameter_dtype():
    p64 = param(np.ones(3))
    opt = SGD([p64], lr=0.1, momentum=0.9)
    p64.grad = np.ones(3)
    opt.step()
    p32 = param(np.ones(3, np.float32))
    opt32 = SGD([p32], lr=0.1, momentum=0.9)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[id(p32)]["momentum_buffer"].dtype == np.float32


@pytest.mark.parametrize("cls,kw,error,match", [
    (SGD, dict(lr=-1), ValueError, r"^Invalid learning rate: -1$"),
    (SGD, dict(lr=0.1, momentum=-0.5), ValueError, r"^Invalid momentum value: -0.5$"),
    (SGD, dict(lr=0.1, weight_decay=-1e-4), ValueError, r"^Invalid weight_decay value: -0.0001$"),
    (SGD, dict(lr=0.1, nesterov=True), ValueError, r"Nesterov momentum requires a momentum and zero dampening"),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, r"Nesterov momentum requires"),
    (SGD, dict(lr="0.1"), TypeError, r"learning rate must be a real number, got str"),
    (SGD, dict(lr=float("nan")), ValueError, r"Invalid learning rate: nan"),
    (Adagrad, dict(lr=-0.1), ValueError, r"Invalid learning rate: -0.1"),
    (Adagrad, dict(lr_decay=-1), ValueError, r"Invalid lr_decay value: -1"),
    (Adagrad, dict(weight_decay=-1), ValueError, r"Invalid weight_decay value: -1"),
    (Adagrad, dict(initial_accumulator_value=-1), ValueError, r"Invalid initial_accumulator_value value: -1"),
    (Adagrad, dict(eps=-1), ValueError, r"Invalid epsilon value: -1"),
    (RMSprop, dict(lr=-1), ValueError, r"Invalid learning rate: -1"),
    (RMSprop, dict(eps=-1), ValueError, r"Invalid epsilon value: -1"),
    (RMSprop, dict(momentum=-1), ValueError, r"Invalid momentum value: -1"),
    (RMSprop, dict(weight_decay=-1), ValueError, r"Invalid weight_decay value: -1"),
    (RMSprop, dict(alpha=-1), ValueError, r"Invalid alpha value: -1"),
    (Adam, dict(lr=-1), ValueError, r"Invalid learning rate: -1"),
    (Adam, dict(eps=-1), ValueError, r"Invalid epsilon value: -1"),
    (Adam, dict(betas=(1.0, 0.999)), ValueError, r"Invalid beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.1)), ValueError, r"Invalid beta parameter at index 1: -0.1"),
    (Adam, dict(betas=0.9), TypeError, r"betas must be a pair of floats, got 0.9"),
    (Adam, dict(weight_decay=-1), ValueError, r"Invalid weight_decay value: -1"),
    (AdamW, dict(lr=-1), ValueError, r"Invalid learning rate: -1"),
    (AdamW, dict(weight_decay=-0.01), ValueError, r"Invalid weight_decay value: -0.01"),
])
def test_constructor_errors(cls, kw, error, match):
    with pytest.raises(error, match=match):
        cls([param(np.zeros(2))], **kw)


def test_params_argument_errors():
    p = param(np.zeros(2))
    with pytest.raises(TypeError, match=r"params should be an iterable of Tensors or of dicts, but got Tensor"):
        SGD(p, lr=0.1)
    with pytest.raises(TypeError, match=r"params should be an iterable of Tensors or of dicts, but got int"):
        SGD(3, lr=0.1)
    with pytest.raises(ValueError, match=r"SGD: optimizer got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"SGD: can only optimize Tensors, got ndarray"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"can only optimize floating-point Tensors, got dtype int64"):
        SGD([tg.Tensor(np.zeros(2, np.int64))], lr=0.1)
    with pytest.raises(ValueError, match=r"a parameter appears more than once in one parameter group"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match=r"some parameters appear in more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match=r"parameter group has no 'params' entry"):
        SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(TypeError, match=r"parameters must be an ordered collection, got a set"):
        SGD([{"params": {p}}], lr=0.1)


def test_grad_of_wrong_shape_is_reported():
    p = param(np.zeros((2, 3)))
    opt = Adam([p])
    p.grad = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"Adam: expected a gradient of shape \(2, 3\), got \(3, 2\)"):
        opt.step()


def test_param_groups_override_defaults_and_lr_changes_take_effect():
    a, b = param(np.zeros(2)), param(np.zeros(2))
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[0]["momentum"] == 0
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(a.data, [-0.1, -0.1])
    np.testing.assert_allclose(b.data, [-1.0, -1.0])
    opt.param_groups[0]["lr"] = 0.5                      # what a scheduler does
    opt.step()
    np.testing.assert_allclose(a.data, [-0.6, -0.6])
    c = param(np.zeros(1))
    opt.add_param_group({"params": c, "lr": 2.0})
    c.grad = np.ones(1)
    opt.step()
    np.testing.assert_allclose(c.data, [-2.0])


def test_zero_grad_and_closure():
    a, b = param(np.ones(2)), param(np.ones(2))
    opt = SGD([a, b], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    b_grad = b.grad
    opt.zero_grad(set_to_none=False)
    assert b.grad is b_grad and not b_grad.any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    assert opt.step(closure=lambda: 4.5) == 4.5


def test_trains_a_real_tensor_graph():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((32, 3)))
    y = tg.Tensor(x.data @ np.array([[1.0], [-2.0], [0.5]]))
    w = param(np.zeros((3, 1)))
    opt = Adam([w], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss = ((x @ w - y) * (x @ w - y)).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data.ravel(), [1.0, -2.0, 0.5], atol=1e-3)


def test_base_optimizer_requires_update():
    opt = Optimizer([param(np.zeros(1))], {"lr": 0.1})
    opt.param_groups[0]["params"][0].grad = np.ones(1)
    with pytest.raises(NotImplementedError, match="Optimizer does not implement _update"):
        opt.step()


# ----------------------------------------------------------------------------- clipping
def _with_grads(grads):
    ps = []
    for g in grads:
        p = param(np.zeros(1) if g is None else np.zeros_like(g))
        p.grad = None if g is None else g.copy()
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_numpy(norm_type, max_norm):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((4, 5)), None, rng.standard_normal(7)]
    flat = np.concatenate([grads[0].ravel(), grads[2]])
    want = np.max(np.abs(flat)) if norm_type == math.inf else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    ps = _with_grads(grads)
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    assert type(total) is float
    assert total == pytest.approx(want, rel=1e-12)
    scale = min(1.0, max_norm / (want + 1e-6))
    assert (scale < 1) == (max_norm == 0.5)
    np.testing.assert_allclose(ps[0].grad, grads[0] * scale, rtol=1e-12)
    np.testing.assert_allclose(ps[2].grad, grads[2] * scale, rtol=1e-12)
    assert ps[1].grad is None


def test_clip_grad_norm_float32_single_tensor_and_empty():
    p = param(np.zeros(4, np.float32))
    p.grad = np.array([3.0, 4.0, 0.0, 0.0], np.float32)
    assert clip_grad_norm_(p, np.float64(1.0)) == pytest.approx(5.0)
    assert p.grad.dtype == np.float32
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0, 0], rtol=1e-6)
    assert clip_grad_norm_(_with_grads([None]), 1.0) == 0.0


def test_clip_grad_norm_non_finite():
    ps = _with_grads([np.array([1.0, np.nan])])
    with pytest.raises(RuntimeError, match=r"total norm of order 2.0 of the gradients is nan, so they cannot be clipped"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ps[0].grad, [1.0, np.nan])   # untouched
    assert math.isnan(clip_grad_norm_(ps, 1.0))
    assert np.isnan(ps[0].grad).all()                          # the NaN is visible, not hidden
    ps = _with_grads([np.array([1.0, np.inf])])
    with pytest.raises(RuntimeError, match=r"is inf, so they cannot be clipped"):
        clip_grad_norm_(ps, 1.0, norm_type=math.inf, error_if_nonfinite=True)


def test_clip_argument_errors():
    ps = _with_grads([np.ones(2)])
    with pytest.raises(ValueError, match=r"clip_grad_norm_: expected norm_type > 0 or inf, got 0.0"):
        clip_grad_norm_(ps, 1.0, norm_type=0)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: max_norm must be a real number, got str"):
        clip_grad_norm_(ps, "1")
    with pytest.raises(ValueError, match=r"clip_grad_value_: expected clip_value >= 0, got -1.0"):
        clip_grad_value_(ps, -1)
    with pytest.raises(TypeError, match=r"clip_grad_value_: expected Tensors with a .grad attribute, got int"):
        clip_grad_value_([1], 1.0)
    with pytest.raises(TypeError, match=r"clip_grad_value_: clip_value must be a real number, got bool"):
        clip_grad_value_(ps, True)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: norm_type must be a real number, got bool"):
        clip_grad_norm_(ps, 1.0, norm_type=False)


def test_clip_takes_any_real_number_and_skips_missing_gradients():
    ps = _with_grads([np.array([-7.0, 0.5, 9.0]), None])        # the second has .grad None
    clip_grad_value_(ps, np.float32(5.0))
    np.testing.assert_array_equal(ps[0].grad, [-5.0, 0.5, 5.0])
    clip_grad_value_(ps, 1)
    np.testing.assert_array_equal(ps[0].grad, [-1.0, 0.5, 1.0])
    assert ps[1].grad is None
    assert clip_grad_norm_(ps, np.int64(10), norm_type=np.float64(math.inf)) == 1.0


def test_clip_grad_value_matches_numpy_clip():
    """A contiguous gradient (the compiled pass) and a strided one (NumPy's path) clip alike."""
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal((3, 3)).astype(np.float32) * 10, None, (rng.standard_normal((4, 6)) * 10)[:, ::2]]
    want = [np.clip(grads[0], -5, 5), None, np.clip(grads[2], -5, 5)]
    ps = _with_grads(grads)
    ps[2].grad = grads[2]                                  # the strided view itself, not a copy
    assert ps[0].grad.flags.c_contiguous and not ps[2].grad.flags.c_contiguous
    clip_grad_value_(ps, 5)
    for k in (0, 2):
        np.testing.assert_array_equal(ps[k].grad, want[k])
        assert np.abs(want[k]).max() == 5
    assert ps[0].grad.dtype == np.float32 and ps[1].grad is None


# ----------------------------------------------------------------------------- parity with PyTorch
def _torch_optimizer(torch, cls, kw, tparams):
    return getattr(torch.optim, cls.__name__)(tparams, **kw)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_matches_torch_over_20_steps(cls, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    inits = [rng.standard_normal(s) for s in SHAPES]
    ours = [param(x) for x in inits]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in inits]
    # two groups, the second with its own lr, to check per-group hyper-parameters too
    opt = cls([{"params": ours[:1]}, {"params": ours[1:], "lr": kw["lr"] * 3}], **kw)
    topt = _torch_optimizer(torch, cls, kw, [{"params": theirs[:1]}, {"params": theirs[1:], "lr": kw["lr"] * 3}])
    for t in range(20):
        for p, tp, s in zip(ours, theirs, SHAPES):
            g = rng.standard_normal(s) * (2.0 if t % 5 == 0 else 0.3)
            p.grad = g
            tp.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.3, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    grads = [rng.standard_normal((6, 2)), rng.standard_normal(9)]
    ps = _with_grads(grads)
    tps = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tps, grads):
        tp.grad = torch.tensor(g.copy())
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(ttotal), rel=1e-12)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(7).standard_normal((5, 5)) * 3
    ps = _with_grads([g])
    tp = torch.zeros(5, 5, dtype=torch.float64, requires_grad=True)
    tp.grad = torch.tensor(g.copy())
    clip_grad_value_(ps, 1.5)
    torch.nn.utils.clip_grad_value_([tp], 1.5)
    np.testing.assert_array_equal(ps[0].grad, tp.grad.numpy())


# ----------------------------------------------------------------------------- docstring examples
@pytest.mark.parametrize("module", ["optimizer", "sgd", "adagrad", "rmsprop", "adam", "clip", "lr_scheduler"])
def test_docstring_examples_run(module):
    import doctest
    import importlib
    mod = importlib.import_module(f"tinygrad_rnn.optim.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
