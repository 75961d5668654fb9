"""The training loop (training/trainer.py): learning, exact resume, Ctrl-C, non-finite values, outputs."""
import json
import math
import os
import signal

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.training import trainer as trainer_mod
from tinygrad_rnn.training.checkpoint import load_checkpoint
from tinygrad_rnn.training.evaluate import evaluate
from tinygrad_rnn.training.trainer import TrainConfig, Trainer

PATTERN = "the quick brown fox jumps over the lazy dog.\n"


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(PATTERN * 60, encoding="utf-8")
    return str(path)


def config(text_file, out, **kw):
    base = dict(data=text_file, cell="lstm", layers=2, hidden=16, embedding=8, dropout=0.1, seq_len=8,
                batch=4, lr=1e-2, steps=6, eval_every=3, sample_every=0, schedule="constant", out=str(out))
    base.update(kw)
    return TrainConfig(**base)


def quiet(cfg, cls=Trainer, lines=None):
    sink = open(os.devnull, "w")
    log = (lambda msg: lines.append(msg)) if lines is not None else (lambda msg: None)
    return cls(cfg, log=log, progress_stream=sink)


def weights(path):
    arrays, meta = load_checkpoint(path)
    return {k: v for k, v in arrays.items() if k.startswith("model/")}, meta


def test_short_run_lowers_validation_loss_clearly(text_file, tmp_path):
    cfg = config(text_file, tmp_path / "run", steps=120, eval_every=120, dropout=0.0, hidden=32, layers=1,
                 seq_len=16, lr=2e-2)
    tr = quiet(cfg)
    before = evaluate(tr.model, tr.val_ids)
    assert before > 0.9 * math.log(len(tr.vocab))                 # untrained: about log V nats per char
    result = tr.run()
    assert result.stopped == "done" and result.step == 120
    assert result.val_nats < 0.35 * before, (before, result.val_nats)


def test_resume_by_steps_continues_exactly(text_file, tmp_path):
    whole = quiet(config(text_file, tmp_path / "whole", steps=6)).run()
    assert whole.step == 6
    quiet(config(text_file, tmp_path / "part", steps=4, eval_every=2)).run()
    resumed = Trainer.resume(str(tmp_path / "part" / "last.npz"), {"steps": 6, "eval_every": 3},
                             log=lambda m: None, progress_stream=open(os.devnull, "w"))
    assert resumed.step == 4
    resumed.run()
    w_whole, m_whole = weights(tmp_path / "whole" / "last.npz")
    w_res, m_res = weights(tmp_path / "part" / "last.npz")
    assert m_res["step"] == m_whole["step"] == 6
    for k in w_whole:
        np.testing.assert_array_equal(w_res[k], w_whole[k], err_msg=k)
    losses = [r["loss"] for r in m_whole["metrics"]["train"]]
    assert [r["loss"] for r in m_res["metrics"]["train"]] == losses and len(losses) == 6


class InterruptAt(Trainer):
    """Sends itself a real SIGINT (Ctrl-C) after step ``at``."""
    at = 3

    def train_step(self):
        record = super().train_step()
        if self.step == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return record


def test_ctrl_c_saves_and_resume_matches_the_uninterrupted_cosine_run(text_file, tmp_path):
    kw = dict(steps=7, eval_every=0, schedule="cosine", cell="gru")
    whole = quiet(config(text_file, tmp_path / "whole", **kw)).run()
    lines = []
    handler_before = signal.getsignal(signal.SIGINT)   # default_int_handler, or SIG_IGN in a background job
    result = quiet(config(text_file, tmp_path / "cut", **kw), cls=InterruptAt, lines=lines).run()
    assert result.stopped == "interrupted" and result.step == 3
    assert any("interrupted at step 3" in line and "--resume" in line for line in lines)
    assert signal.getsignal(signal.SIGINT) is handler_before                  # handler restored
    _, meta = load_checkpoint(tmp_path / "cut" / "last.npz")
    assert meta["step"] == 3
    resumed = Trainer.resume(str(tmp_path / "cut" / "last.npz"), log=lambda m: None,
                             progress_stream=open(os.devnull, "w")).run()
    assert resumed.step == 7 and resumed.stopped == "done"
    w_whole, m_whole = weights(tmp_path / "whole" / "last.npz")
    w_cut, m_cut = weights(tmp_path / "cut" / "last.npz")
    for k in w_whole:
        np.testing.assert_array_equal(w_cut[k], w_whole[k], err_msg=k)
    assert [r["lr"] for r in m_cut["metrics"]["train"]] == [r["lr"] for r in m_whole["metrics"]["train"]]
    assert resumed.val_nats == pytest.approx(whole.val_nats, rel=1e-6)


class RaiseInStep(Trainer):
    """KeyboardInterrupt in the middle of step 4 (as a second Ctrl-C would): nothing half-done is saved."""

    def train_step(self):
        if self.step == 3:
            raise KeyboardInterrupt
        return super().train_step()


def test_interrupt_inside_a_step_keeps_the_previous_checkpoint(text_file, tmp_path):
    lines = []
    result = quiet(config(text_file, tmp_path / "run", steps=6, eval_every=2), cls=RaiseInStep, lines=lines).run()
    assert result.stopped == "interrupted"
    assert any("middle of a training step" in line for line in lines)
    _, meta = load_checkpoint(tmp_path / "run" / "last.npz")
    assert meta["step"] == 2


def nan_loss_at(step):
    real = trainer_mod.cross_entropy
    calls = {"n": 0}

    def fake(logits, targets):
        calls["n"] += 1
        loss = real(logits, targets)
        return loss * tg.Tensor(np.float32(np.nan)) if calls["n"] == step else loss
    return fake


def test_nonfinite_loss_is_skipped_and_reported(text_file, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_mod, "cross_entropy", nan_loss_at(3))
    lines = []
    tr = quiet(config(text_file, tmp_path / "run", steps=5), lines=lines)
    result = tr.run()
    assert result.stopped == "done" and result.step == 5
    assert any(line.startswith("step 3: non-finite loss (nan); update skipped") for line in lines)
    assert tr.metrics["nonfinite"] == [{"step": 3, "what": "loss", "value": "nan"}]
    assert tr.metrics["train"][2]["loss"] is None and tr.metrics["train"][3]["loss"] is not None
    assert all(np.isfinite(p.data).all() for p in tr.model.parameters())
    load_checkpoint(tmp_path / "run" / "last.npz")                      # loads: every array finite
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["nonfinite"][0]["step"] == 3


def test_nonfinite_loss_can_stop_training(text_file, tmp_path, monkeypatch):
    monkeypatch.setattr(trainer_mod, "cross_entropy", nan_loss_at(2))
    result = quiet(config(text_file, tmp_path / "run", steps=5, on_nonfinite="stop")).run()
    assert result.stopped == "nonfinite" and result.step == 2
    arrays, meta = load_checkpoint(tmp_path / "run" / "last.npz")
    assert meta["step"] == 2


class Recorder(Trainer):
    def train_step(self):
        record = super().train_step()
        self.snapshots = getattr(self, "snapshots", []) + [self.model.state_dict()]
        return record


def test_nonfinite_gradient_norm_skips_the_update(text_file, tmp_path, monkeypatch):
    real = trainer_mod.clip_grad_norm_
    calls = {"n": 0}

    def fake(params, max_norm):
        calls["n"] += 1
        norm = real(params, max_norm)
        return math.inf if calls["n"] == 2 else norm
    monkeypatch.setattr(trainer_mod, "clip_grad_norm_", fake)
    lines = []
    tr = quiet(config(text_file, tmp_path / "run", steps=3, dropout=0.0), cls=Recorder, lines=lines)
    tr.run()
    assert any(line.startswith("step 2: non-finite gradient norm (inf)") for line in lines)
    s1, s2, s3 = tr.snapshots
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])                        # step 2 changed nothing
    assert any(not np.array_equal(s2[k], s3[k]) for k in s1)              # step 3 did update


def test_too_many_skips_in_a_row_stop(text_file, tmp_path, monkeypatch):
    real = trainer_mod.cross_entropy
    monkeypatch.setattr(trainer_mod, "cross_entropy",
                        lambda logits, targets: real(logits, targets) * tg.Tensor(np.float32(np.inf)))
    result = quiet(config(text_file, tmp_path / "run", steps=50, max_skips=4)).run()
    assert result.stopped == "nonfinite" and result.step == 4


def test_outputs_metrics_plot_and_samples(text_file, tmp_path):
    lines = []
    cfg = config(text_file, tmp_path / "run", steps=4, eval_every=2, sample_every=2, sample_len=30)
    result = quiet(cfg, lines=lines).run()
    out = tmp_path / "run"
    assert sorted(os.listdir(out)) == ["best.npz", "last.npz", "loss.png", "metrics.json"]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((out / "metrics.json").read_text())
    assert [r["step"] for r in doc["train"]] == [1, 2, 3, 4]
    assert [r["step"] for r in doc["val"]] == [2, 4]
    assert all(r["bits"] == pytest.approx(r["nats"] / math.log(2)) for r in doc["val"])
    assert doc["sessions"][0]["tokens_per_s"] > 0 and doc["sessions"][0]["wall_time"] > 0
    assert doc["best_val_nats"] == min(r["nats"] for r in doc["val"])
    assert sum("--- sample at step" in line for line in lines) == 2
    assert len(result.sample) == 30
    _, meta = load_checkpoint(out / "best.npz")
    assert meta["best_val"] == doc["best_val_nats"]


def test_time_budget_alone(text_file, tmp_path):
    cfg = config(text_file, tmp_path / "run", steps=None, minutes=0.02, eval_every=0)
    result = quiet(cfg).run()
    assert result.stopped == "time" and result.step >= 1


def test_refuses_to_overwrite_a_run_or_resume_on_other_text(text_file, tmp_path):
    quiet(config(text_file, tmp_path / "run", steps=2)).run()
    before = (tmp_path / "run" / "best.npz").read_bytes()
    with pytest.raises(ValueError, match="already holds a run"):
        quiet(config(text_file, tmp_path / "run", steps=2))
    assert (tmp_path / "run" / "best.npz").read_bytes() == before
    with open(text_file, "a", encoding="utf-8") as f:
        f.write("more")
    with pytest.raises(ValueError, match="training text differs"):
        Trainer.resume(str(tmp_path / "run" / "last.npz"), {"steps": 4})
    with pytest.raises(ValueError, match="hidden is fixed by the checkpoint"):
        Trainer.resume(str(tmp_path / "run" / "last.npz"), {"hidden": 64})


def test_config_errors():
    with pytest.raises(ValueError, match="expected cell in"):
        TrainConfig(cell="lstmm").check()
    with pytest.raises(ValueError, match="expected a step or a time budget"):
        TrainConfig(steps=None).check()
    with pytest.raises(ValueError, match="cosine schedule needs a step budget"):
        trainer_mod.lr_factor("cosine", None)
    f = trainer_mod.lr_factor("cosine", 10)
    assert f(0) == 1.0 and f(10) == pytest.approx(0.1) and f(20) == pytest.approx(0.1)


def test_word_level_run(text_file, tmp_path):
    cfg = config(text_file, tmp_path / "run", word=True, steps=2, eval_every=2)
    tr = quiet(cfg)
    assert tr.vocab.tokens[0] == "<unk>" and "fox" in tr.vocab.tokens
    result = tr.run()
    assert result.val_nats is not None and tr.metrics["val"][-1]["ppl"] == pytest.approx(math.exp(result.val_nats))
