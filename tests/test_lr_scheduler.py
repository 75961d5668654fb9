"""Learning-rate schedules: closed forms written from the equations, ReduceLROnPlateau's bookkeeping,
plain-data checkpoints, errors, and parity with torch.optim.lr_scheduler."""

import json
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.optim import (
    SGD, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, ReduceLROnPlateau, StepLR,
)

BASE_LRS = [0.1, 0.03]


def make_optimizer(lrs=BASE_LRS):
    groups = [{"params": [tg.Tensor(np.zeros(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return SGD(groups, lr=1.0)


def lr_history(sched, steps):
    """Learning rates at epochs 0..steps (epoch 0 is set by the constructor)."""
    out = [sched.get_last_lr()]
    for _ in range(steps):
        sched.step()
        out.append(sched.get_last_lr())
    return np.array(out)


def warmup(t):
    return min(1.0, (t + 1) / 4)


# (constructor, closed form of lr at epoch t for a base lr)
SCHEDULES = {
    "step": (lambda o: StepLR(o, step_size=3, gamma=0.5),
             lambda b, t: b * 0.5 ** (t // 3)),
    "exponential": (lambda o: ExponentialLR(o, gamma=0.9),
                    lambda b, t: b * 0.9 ** t),
    "cosine": (lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.001),
               lambda b, t: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / 7)) / 2),
    "linear": (lambda o: LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
               lambda b, t: b * (0.2 + (0.9 - 0.2) * min(t, 6) / 6)),
    "lambda": (lambda o: LambdaLR(o, warmup),
               lambda b, t: b * warmup(t)),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_closed_form(name):
    make, closed = SCHEDULES[name]
    opt = make_optimizer()
    history = lr_history(make(opt), 30)
    want = np.array([[closed(b, t) for b in BASE_LRS] for t in range(31)])
    np.testing.assert_allclose(history, want, rtol=1e-10, atol=1e-15)
    assert [g["lr"] for g in opt.param_groups] == list(history[-1])
    assert [g["initial_lr"] for g in opt.param_groups] == BASE_LRS


def test_schedule_changes_what_the_optimizer_does():
    p = tg.Tensor(np.zeros(1), requires_grad=True)
    opt = SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.5 + 0.25)])


@pytest.mark.parametrize("name", SCHEDULES)
def test_state_dict_round_trip_through_json(name):
    make, _ = SCHEDULES[name]
    opt = make_optimizer()
    sched = make(opt)
    for _ in range(8):
        sched.step()
    saved_opt = opt.state_dict()
    saved = json.loads(json.dumps(sched.state_dict()))     # plain data only

    opt2 = make_optimizer([5.0, 5.0])
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert sched2.get_last_lr() == sched.get_last_lr()
    np.testing.assert_array_equal(lr_history(sched2, 12), lr_history(sched, 12))


def test_resume_with_last_epoch_uses_initial_lr():
    opt = make_optimizer()
    lr_history(CosineAnnealingLR(opt, T_max=10), 4)
    resumed = CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert resumed.last_epoch == 5 and resumed.base_lrs == BASE_LRS
    with pytest.raises(KeyError, match=r"resuming with last_epoch=3 needs 'initial_lr' in param_groups\[0\]"):
        StepLR(make_optimizer(), step_size=2, last_epoch=3)


def test_reduce_on_plateau_bookkeeping():
    opt = make_optimizer([1.0, 0.5])
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.3, 0.0])
    losses = [5.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    lrs = []
    for loss in losses:
        sched.step(loss)
        lrs.append(sched.get_last_lr())
    # epochs 3, 4, 5 repeat the best 4.0: the third bad epoch (> patience=2) halves both lrs. Epoch 6 sets a
    # new best (and uses up the cooldown); epochs 7, 8, 9 are bad, so epoch 9 halves again, but group 0 stops
    # at its min_lr 0.3. Epoch 10 falls in the cooldown, 11 and 12 are only two bad epochs.
    want = [[1.0, 0.5]] * 4 + [[0.5, 0.25]] * 4 + [[0.3, 0.125]] * 4
    assert lrs == want
    assert sched.best == 3.0


def test_reduce_on_plateau_modes_and_thresholds():
    opt = make_optimizer([1.0])
    up = ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1, threshold_mode="abs")
    up.step(1.0)
    up.step(1.05)      # not better by more than 0.1: reduce
    assert up.get_last_lr() == [pytest.approx(0.1)]
    opt = make_optimizer([1.0])
    rel = ReduceLROnPlateau(opt, mode="min", patience=0, threshold=0.1)
    rel.step(np.float64(10.0))
    rel.step(8.9)      # 8.9 < 10 * 0.9: better, keep
    assert rel.get_last_lr() == [1.0]
    rel.step(8.1)      # 8.1 >= 8.9 * 0.9 = 8.01: not better
    assert rel.get_last_lr() == [pytest.approx(0.1)]
    loss = tg.Tensor(np.array(1.0))                         # a 0-d Tensor is accepted as a metric
    rel.step(loss)
    assert rel.best == 1.0


def test_reduce_on_plateau_state_dict_round_trip():
    opt = make_optimizer()
    sched = ReduceLROnPlateau(opt, patience=1, cooldown=2)
    for loss in [3.0, 3.0, 3.0]:
        sched.step(loss)
    saved = json.loads(json.dumps(sched.state_dict()))
    opt2 = make_optimizer()
    opt2.load_state_dict(opt.state_dict())
    sched2 = ReduceLROnPlateau(opt2)
    sched2.load_state_dict(saved)
    for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
        sched.step(loss)
        sched2.step(loss)
        assert sched2.get_last_lr() == sched.get_last_lr()
    assert sched.get_last_lr() != BASE_LRS


@pytest.mark.parametrize("make,error,match", [
    (lambda o: StepLR(o, step_size=0), ValueError, r"StepLR: expected step_size >= 1, got 0"),
    (lambda o: StepLR(o, step_size=2.5), TypeError, r"StepLR: expected step_size to be an int, got float"),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, r"CosineAnnealingLR: expected T_max >= 1, got 0"),
    (lambda o: LinearLR(o, start_factor=0), ValueError, r"LinearLR: expected 0 < start_factor <= 1, got 0"),
    (lambda o: LinearLR(o, end_factor=1.5), ValueError, r"LinearLR: expected 0 <= end_factor <= 1, got 1.5"),
    (lambda o: LinearLR(o, total_iters=0), ValueError, r"LinearLR: expected total_iters >= 1, got 0"),
    (lambda o: LambdaLR(o, [warmup]), ValueError, r"LambdaLR: expected 2 lr_lambdas \(one per parameter group\), got 1"),
    (lambda o: LambdaLR(o, 0.5), TypeError, r"LambdaLR: expected lr_lambda to be callable, got float"),
    (lambda o: ExponentialLR("opt", gamma=0.5), TypeError, r"ExponentialLR: expected an Optimizer, got str"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), ValueError, r"ReduceLROnPlateau: expected factor < 1.0, got 1.0"),
    (lambda o: ReduceLROnPlateau(o, mode="up"), ValueError, r"expected mode 'min' or 'max', got 'up'"),
    (lambda o: ReduceLROnPlateau(o, threshold_mode="x"), ValueError, r"expected threshold_mode 'rel' or 'abs', got 'x'"),
    (lambda o: ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, r"expected 2 min_lrs \(one per parameter group\), got 1"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), ValueError, r"expected patience >= 0, got -1"),
    (lambda o: ReduceLROnPlateau([1], patience=1), TypeError, r"ReduceLROnPlateau: expected an Optimizer, got list"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make(make_optimizer())


def test_load_state_dict_errors():
    sched = StepLR(make_optimizer(), step_size=2)
    other = ExponentialLR(make_optimizer(), gamma=0.5).state_dict()
    with pytest.raises(ValueError, match=r"StepLR: expected a state dict with keys \[.*'step_size'.*\], got \["):
        sched.load_state_dict(other)
    one_group = StepLR(make_optimizer([0.1]), step_size=2).state_dict()
    with pytest.raises(ValueError, match=r"StepLR: expected 2 base_lrs \(one per parameter group\), got 1"):
        sched.load_state_dict(one_group)
    plateau = ReduceLROnPlateau(make_optimizer())
    bad = plateau.state_dict()
    bad["mode"] = "sideways"
    with pytest.raises(ValueError, match=r"expected mode 'min'/'max' and threshold_mode 'rel'/'abs', got 'sideways'"):
        plateau.load_state_dict(bad)


# ----------------------------------------------------------------------------- parity with PyTorch
TORCH_SCHEDULES = [
    ("StepLR", dict(step_size=4, gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.87)),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.002)),     # 25 epochs: down, up, and down again
    ("CosineAnnealingLR", dict(T_max=1)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.7, total_iters=8)),
    ("LambdaLR", dict(lr_lambda=warmup)),
]


def _torch_optimizer(torch, lrs=BASE_LRS):
    return torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)


@pytest.mark.parametrize("name,kw", TORCH_SCHEDULES, ids=[f"{n}-{kw}" for n, kw in TORCH_SCHEDULES])
def test_matches_torch_over_25_epochs(name, kw):
    torch = pytest.importorskip("torch")
    import tinygrad_rnn.optim as ours_module
    ours = getattr(ours_module, name)(make_optimizer(), **kw)
    theirs = getattr(torch.optim.lr_scheduler, name)(_torch_optimizer(torch), **kw)
    want = [theirs.get_last_lr()]
    for _ in range(25):
        theirs.optimizer.step()
        theirs.step()
        want.append(theirs.get_last_lr())
    np.testing.assert_allclose(lr_history(ours, 25), np.array(want), rtol=1e-12, atol=1e-15)


def test_cosine_resumed_mid_schedule_matches_torch():
    torch = pytest.importorskip("torch")
    opt, topt = make_optimizer(), _torch_optimizer(torch)
    for group, tgroup in zip(opt.param_groups, topt.param_groups):
        group["initial_lr"] = tgroup["initial_lr"] = group["lr"]
    ours = CosineAnnealingLR(opt, T_max=9, eta_min=0.01, last_epoch=4)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=9, eta_min=0.01, last_epoch=4)
    want = [theirs.get_last_lr()]
    for _ in range(20):
        topt.step()
        theirs.step()
        want.append(theirs.get_last_lr())
    np.testing.assert_allclose(lr_history(ours, 20), np.array(want), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kw", [
    dict(factor=0.5, patience=2),
    dict(mode="max", factor=0.3, patience=1, threshold=0.05, cooldown=2),
    dict(threshold_mode="abs", threshold=0.2, patience=0, min_lr=[0.02, 0.005]),
    dict(mode="max", threshold_mode="abs", patience=3, cooldown=1, min_lr=0.01, eps=1e-3),
])
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    metrics = np.cumsum(rng.standard_normal(40) * 0.3) + np.linspace(5, 0, 40) ** 0.5
    ours = ReduceLROnPlateau(make_optimizer(), **kw)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(_torch_optimizer(torch), **kw)
    changes = 0
    for m in metrics:
        before = ours.get_last_lr()
        ours.step(float(m))
        theirs.step(float(m))
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert ours.num_bad_epochs == theirs.num_bad_epochs and ours.best == theirs.best
        changes += ours.get_last_lr() != before
    assert changes > 0
