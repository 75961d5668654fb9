"""Each demo's --quick run reaches the outcome its docstring states (and writes its figures)."""
import math

import numpy as np
import pytest

from demo_runner import demo, run_demo


def test_hello_learns_the_word(tmp_path):
    result = run_demo("hello", tmp_path)
    assert result["loss_before"] > 1.0                      # near log(4) = 1.39 before training
    assert result["loss_after"] < 0.05
    assert result["generated"] == "hello"                   # greedy generation from "h"
    # after training each step's most likely letter is the target, including the "l" -> "o" step
    assert result["probs_after"].argmax(axis=1).tolist() == [1, 2, 2, 3]
    assert (tmp_path / "predictions.png").stat().st_size > 0


def test_min_char_rnn_numpy_and_graph_agree(tmp_path):
    result = run_demo("min_char_rnn", tmp_path)
    assert result["step_loss_diff"] < 1e-9                  # same loss from the same weights and state
    assert result["step_grad_diff"] < 1e-9                  # same gradients
    assert result["agree_windows"] >= 2                     # free-running: identical until rounding grows
    # the drift is the dynamics: a 1e-15 nudge of the NumPy run drifts by a comparable amount
    assert result["twin_diff"].max() > 1e-6
    assert len(result["samples"]) == 1 and len(result["samples"][0]) == 40
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_vanishing_gradients(tmp_path):
    result = run_demo("vanishing_gradients", tmp_path)
    norms = result["norms"]
    small, large = norms["tanh RNN, s = 0.8"], norms["tanh RNN, s = 1.5"]
    assert small[20] < 1e-2                                 # s < 1: fades like s^k
    assert large[20] > 1.0                                  # s > 1: no fading over 20 steps
    assert norms["LSTM, forget bias 3"][20] > 100 * norms["LSTM"][20]
    assert result["chain_rule_error"] < 1e-10               # hooks see exactly W_hh^T (g * (1 - h^2))
    unclipped, _ = result["clip_runs"]["no clipping"]
    clipped, clipped_norms = result["clip_runs"]["clip_grad_norm_(1.0)"]
    assert not np.all(np.isfinite(unclipped)) or np.nanmax(unclipped) > 1e3     # the unclipped run blows up
    assert np.all(np.isfinite(clipped)) and clipped[-20:].mean() < 0.5
    adding = result["adding"]
    irnn, tanh = adding["IRNN (relu, W_hh = I)"], adding["tanh RNN"]
    assert irnn[-100:].mean() < 0.1                         # well below 1/6, the answer-1 baseline
    assert irnn[-100:].mean() < 0.6 * tanh[-100:].mean()
    for figure in ("gradient_norms.png", "clipping.png", "adding_problem.png"):
        assert (tmp_path / figure).stat().st_size > 0


def test_seq2seq_reverses_and_attention_looks_at_the_mirror(tmp_path):
    result = run_demo("seq2seq", tmp_path)
    assert result["plain"]["symbol_accuracy"] > 0.6         # chance is 0.1
    assert result["attention"]["exact_match"] > 0.8         # chance is 1e-5 for 5 symbols
    assert result["attention"]["exact_match"] > result["plain"]["exact_match"]
    assert result["attention"]["mirror_attention"] > 0.5    # the anti-diagonal
    assert (tmp_path / "attention.png").stat().st_size > 0


def test_classification_rnn_beats_bag_of_words(tmp_path):
    result = run_demo("classification", tmp_path)
    bow = result["bag of words"]["test_accuracy"]
    for name in ("GRU, one direction", "GRU, bidirectional"):
        assert result[name]["test_accuracy"] > 0.95
        assert result[name]["test_accuracy"] > bow + 0.3
    assert (tmp_path / "accuracy.png").stat().st_size > 0


def test_captioning_on_held_out_images(tmp_path):
    result = run_demo("captioning", tmp_path)
    assert result["final_loss"] < 0.5 * result["first_loss"]
    assert result["per_slot"]["colour"] > 0.9 and result["per_slot"]["horizontal"] > 0.9
    assert result["exact_match"] > 0.4                      # chance: 1 / 48 combinations
    assert (tmp_path / "captions.png").stat().st_size > 0


def test_optimizers_all_learn(tmp_path):
    result = run_demo("optimizers", tmp_path)
    assert set(result) == {"SGD", "Momentum", "Adagrad", "RMSprop", "Adam"}
    for name, r in result.items():
        assert math.isfinite(r["final_loss"]) and math.isfinite(r["val_loss"])
        assert r["val_loss"] < np.log(87) - 1.0, name       # at least 1 nat below uniform guessing
    assert (tmp_path / "loss_curves.png").stat().st_size > 0


def test_command_line_quick_and_overrides():
    parse_config = demo("_common").parse_config
    hello = demo("hello")
    QUICK, Config = hello.QUICK, hello.Config
    assert parse_config(Config, [], "", QUICK).steps == Config().steps
    assert parse_config(Config, ["--quick"], "", QUICK).steps == QUICK["steps"]
    assert parse_config(Config, ["--quick", "--steps", "7", "--lr", "0.5"], "", QUICK).steps == 7
    with pytest.raises(SystemExit):
        parse_config(Config, ["--steps", "many"], "", QUICK)
