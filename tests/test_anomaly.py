"""Anomaly mode (autograd/anomaly.py) and non-finite values in training: the first NaN/inf is reported with
the op and the pass it arose in, nothing changes outside the mode, and no NaN ever reaches a checkpoint."""
import os

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Function, Tensor
from tinygrad_rnn.autograd import anomaly
from tinygrad_rnn.cli import main
from tinygrad_rnn.training.checkpoint import load_checkpoint
from tinygrad_rnn.training.lm import CharLM
from tinygrad_rnn.training.trainer import TrainConfig, Trainer

# the ops below make NaN/inf on purpose; NumPy's warnings about it are expected
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")


def plain_apply_is_installed():
    return Function.__dict__["apply"] is anomaly._PLAIN_APPLY


def test_forward_nan_or_inf_names_the_op_and_says_inputs_were_finite():
    x = Tensor(np.array([1.0, 0.0, 2.0]), requires_grad=True)
    with pytest.raises(FloatingPointError, match=r"^detect_anomaly: Log forward produced output 0 of shape \(3,\) "
                                                 r"with 0 NaN and 1 inf of 3 values; its inputs were finite$"):
        with tg.detect_anomaly():
            x.log()
    with pytest.raises(FloatingPointError, match=r"Div forward .* 1 NaN and 0 inf"):
        with tg.detect_anomaly():
            Tensor(np.zeros(2)) / Tensor(np.array([0.0, 1.0]))     # no graph recorded: still checked
    assert plain_apply_is_installed()


def test_non_finite_input_is_reported_at_the_first_op_that_sees_it():
    x = Tensor(np.array([1.0, np.inf]), requires_grad=True)
    with pytest.raises(FloatingPointError, match=r"Mul forward .* inputs \[0\] already held NaN or inf"):
        with tg.detect_anomaly():
            x * 2.0


def test_multi_output_op_names_the_output():
    x = Tensor(np.array([1.0, 2.0, np.nan, 4.0]))
    with pytest.raises(FloatingPointError, match=r"Split forward produced output 1 of shape \(2,\)"):
        with tg.detect_anomaly():
            x.split(2)


def test_backward_nan_or_inf_names_the_op_and_the_input():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)      # sqrt is finite at 0, its derivative is not
    w = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = (w * x.sqrt()).sum()                               # forward passes the check
        with pytest.raises(FloatingPointError,
                           match=r"^detect_anomaly: Pow backward produced the gradient for input 0 of shape "
                                 r"\(2,\) with 0 NaN and 1 inf of 2 values; its incoming gradients were finite$"):
            y.backward()


def test_a_nan_seed_gradient_is_reported_as_arriving_from_outside():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = x * 3.0
        with pytest.raises(FloatingPointError, match=r"Mul backward .* incoming gradients \[0\] already held"):
            y.backward(np.array([np.nan, 1.0]))


def test_gradients_not_asked_for_are_not_checked():
    class NanForUnused(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, g):
            return g, np.full_like(g, np.nan)                  # b needs no gradient: the engine drops it

    a = Tensor(np.ones(2), requires_grad=True)
    with tg.detect_anomaly():
        NanForUnused.apply(a, Tensor(np.ones(2))).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_nodes_recorded_inside_are_checked_in_a_backward_outside():
    x = Tensor(np.array([0.0]), requires_grad=True)
    with tg.detect_anomaly():
        y = x.sqrt().sum()
    assert plain_apply_is_installed() and not tg.is_anomaly_enabled()
    with pytest.raises(FloatingPointError, match="Pow backward"):
        y.backward()


def test_outside_the_mode_nothing_is_checked_and_nothing_is_swapped():
    assert plain_apply_is_installed()
    x = Tensor(np.array([0.0, 1.0]), requires_grad=True)
    y = x.log()                                                # -inf, silently, as NumPy does
    assert np.isinf(y.data[0])
    z = x.sqrt().sum()
    z.backward()
    assert np.isinf(x.grad[0])
    # the mode is off again after an error inside it, and after nested blocks
    with pytest.raises(FloatingPointError):
        with tg.detect_anomaly():
            with tg.detect_anomaly():
                assert tg.is_anomaly_enabled()
            assert tg.is_anomaly_enabled()
            x.log()
    assert plain_apply_is_installed() and not tg.is_anomaly_enabled()


def test_decorator_form():
    @tg.detect_anomaly()
    def f(x):
        return (x - x).log()

    with pytest.raises(FloatingPointError, match="Log forward"):
        f(Tensor(np.ones(3)))
    assert plain_apply_is_installed()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_a_finite_model_gives_identical_results_inside_the_mode(cell):
    ids = np.random.default_rng(0).integers(0, 7, size=(5, 3))
    targets = np.random.default_rng(1).integers(0, 7, size=15)
    results = []
    for mode in (False, True):
        tg.manual_seed(0)
        model = CharLM(7, cell=cell, hidden_size=6, num_layers=2, embedding_dim=4, dropout=0.2)
        with (tg.detect_anomaly() if mode else _null()):
            logits, _ = model(ids)
            loss = tg.cross_entropy(logits.reshape(15, 7), targets)
            loss.backward()
        results.append([loss.data.copy()] + [p.grad.copy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_poisoned_weight_is_caught_at_the_first_op_that_reads_it():
    tg.manual_seed(0)
    model = CharLM(7, cell="lstm", hidden_size=6, num_layers=1, embedding_dim=4)
    model.decoder.weight.data[2, 3] = np.nan
    with pytest.raises(FloatingPointError, match=r"forward produced output 0 .* inputs \[1\] already held"):
        with tg.detect_anomaly():
            model(np.zeros((3, 2), np.int64))


# --- training: no NaN ever reaches a checkpoint ------------------------------------------------------

class PoisonAt(Trainer):
    """Sets one weight to NaN just before the given step (a stand-in for a blown-up update)."""

    poison_step = 4

    def train_step(self):
        if self.step + 1 == self.poison_step:
            self.model.decoder.bias.data[0] = np.nan
        return super().train_step()


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("all work and no play makes jack a dull boy.\n" * 30, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("policy", ["skip", "stop"])
def test_nan_weights_never_reach_a_checkpoint(text_file, tmp_path, policy):
    cfg = TrainConfig(data=text_file, hidden=8, layers=1, embedding=4, seq_len=6, batch=3, steps=12, eval_every=1,
                      sample_every=0, schedule="constant", on_nonfinite=policy, max_skips=3, out=str(tmp_path / "r"))
    lines = []
    result = PoisonAt(cfg, log=lines.append, progress_stream=open(os.devnull, "w")).run()
    assert result.stopped == "nonfinite"
    assert any("non-finite loss" in line for line in lines)
    for name in ("last.npz", "best.npz"):
        arrays, meta = load_checkpoint(tmp_path / "r" / name)       # loads: it is finite throughout
        assert meta["step"] == 3
        assert all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")


def test_cli_detect_anomaly_flag_stops_at_the_op_and_keeps_the_last_checkpoint(text_file, tmp_path, capsys,
                                                                              monkeypatch):
    from tinygrad_rnn.training import trainer as trainer_mod
    monkeypatch.setattr(trainer_mod, "Trainer", PoisonAt)
    out = tmp_path / "run"
    code = main(["train", "--data", text_file, "--hidden", "8", "--layers", "1", "--embedding", "4", "--seq-len",
                 "6", "--batch", "3", "--steps", "10", "--eval-every", "1", "--sample-every", "0", "--out", str(out),
                 "--detect-anomaly"])
    err = capsys.readouterr().err
    assert code == 1 and "detect_anomaly:" in err and "forward produced" in err and "Traceback" not in err
    assert load_checkpoint(out / "last.npz")[1]["step"] == 3
    assert plain_apply_is_installed()
