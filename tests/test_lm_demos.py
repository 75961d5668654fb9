"""The language-model demos: each --quick run reaches the outcome its docstring states and writes its files;
the interpretable_cells scanner labels characters as a reader would."""
import math
import os

import numpy as np
import pytest

from demo_runner import demo, run_demo


# ------------------------------------------------------------------------------------------- char_lm

def test_char_lm_learns_and_temperature_orders_its_samples(tmp_path):
    result = run_demo("char_lm", tmp_path)
    # before training the model is close to uniform guessing over the ~90 characters
    assert abs(result["initial_val"] - result["uniform"]) < 0.2
    # 300 quick steps take at least 2 nats/char off the validation loss, and each stop improves on the last
    assert result["final_val"] < result["initial_val"] - 2.0
    stops = sorted(result["val_at"])
    assert stops == [30, 90, 300]                                        # 10%, 30%, 100% of the budget
    assert result["val_at"][30] > result["val_at"][90] > result["val_at"][300]
    # the sessions share one cosine schedule over the whole budget: 10% of lr at the last step
    assert result["lr_last"] == pytest.approx(0.1 * result["lr"], rel=0.02)
    # samples at every stop and temperature, 120 characters each
    assert len(result["samples"]) == 3
    for by_t in result["samples"].values():
        assert sorted(by_t) == [0.5, 1.0, 1.5] and all(len(s) == 120 for s in by_t.values())
    # the model finds its cooler samples likelier: loss on its own text rises with the temperature
    nats = result["sample_nats"]
    assert nats[0.5] < nats[1.0] < nats[1.5]
    text = (tmp_path / "samples.txt").read_text(encoding="utf-8")
    assert text.count("=== step ") == 9
    assert "<table>" in (tmp_path / "samples.html").read_text(encoding="utf-8")
    for name in ("loss.png", "best.npz", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_char_lm_runs_again_into_the_same_folder(tmp_path):
    first = run_demo("char_lm", tmp_path, "--steps", "4", "--sample-at", "1.0", "--sample-len", "5")
    again = run_demo("char_lm", tmp_path, "--steps", "4", "--sample-at", "1.0", "--sample-len", "5")
    assert first["final_val"] == again["final_val"]                    # seeded: the same run twice


def test_char_lm_reads_a_data_file(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_text("abcabcabd\n" * 200, encoding="utf-8")
    result = run_demo("char_lm", tmp_path / "run", "--data", str(path), "--steps", "60", "--prime", "ab")
    assert result["uniform"] == pytest.approx(math.log(5))              # a b c d and the newline
    assert result["final_val"] < 0.7
    assert all(s.startswith("ab") for by_t in result["samples"].values() for s in by_t.values())


# ------------------------------------------------------------------------------------ interpretable_cells

def labels(text, name):
    props = demo("interpretable_cells").scan_python(text)
    return props[name].astype(int).tolist()


def test_scanner_strings_and_comments():
    text = "a = 'b#' # c\n"
    #       a   =   '  b  #  '  #  c \n
    assert labels(text, "in_string") == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert labels(text, "in_comment") == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0]
    # an escaped quote stays inside; triple quotes span lines; a one-line string ends at a newline
    assert labels('"\\"x"y', "in_string") == [1, 1, 1, 1, 0, 0]
    assert labels('"""a\n"b"""c', "in_string") == [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    assert labels("'a\nb", "in_string") == [1, 1, 0, 0]


def test_scanner_brackets_indent_column():
    text = "f(x[1],\n  '(')\n"
    assert labels(text, "brackets") == [0, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    assert labels(text, "indent") == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 0]
    assert labels(text, "column") == [1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 0]


def test_correlations_match_numpy():
    ic = demo("interpretable_cells")
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(200, 4)).astype(np.float32)
    acts[:, 3] = 0.5                                                    # a constant cell scores 0
    prop = acts[:, 1] * 2 + rng.normal(size=200).astype(np.float32)
    r = ic.correlations(acts, prop)
    for j in range(3):
        assert r[j] == pytest.approx(np.corrcoef(acts[:, j], prop)[0, 1], abs=1e-6)
    assert r[3] == 0.0 and np.argmax(np.abs(r)) == 1


def test_interpretable_cells_finds_a_cell_that_tracks_the_line(tmp_path):
    result = run_demo("interpretable_cells", tmp_path)
    cells = result["cells"]
    assert set(cells) == {"in_string", "in_comment", "indent", "brackets", "column"}
    assert result["n_cells"] == 64 and result["n_chars"] == 4000
    column = cells["column"]
    # the reported r is NumPy's Pearson r of that cell's recorded values and the scanner's column numbers
    acts, props = result["activations"], result["properties"]
    assert column["r"] == pytest.approx(np.corrcoef(acts[:, column["cell"]], props["column"])[0, 1], abs=1e-6)
    assert np.all(np.abs(acts) <= 1.0)                                   # tanh(c_t)
    assert abs(column["r"]) > 0.5
    # ... and more than the untrained twin (same seed, initial weights) reaches
    assert abs(column["r"]) > abs(column["untrained_r"]) + 0.1
    page = (tmp_path / "cells.html").read_text(encoding="utf-8")
    assert page.count("<pre>") == 5 and "background:rgb(" in page
    for name in ("cells.png", "correlations.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_interpretable_cells_reads_a_checkpoint(tmp_path):
    ic = demo("interpretable_cells")
    small = ["--quick", "--analyse-chars", "600", "--show-lines", "2"]
    first = ic.main([*small, "--steps", "3", "--out", str(tmp_path / "a")])
    again = ic.main([*small, "--checkpoint", str(tmp_path / "a" / "model" / "last.npz"), "--out", str(tmp_path / "b")])
    for name in first["cells"]:
        assert again["cells"][name]["r"] == pytest.approx(first["cells"][name]["r"], abs=1e-6)


def test_interpretable_cells_refuses_a_gru(tmp_path):
    from tinygrad_rnn.training import TrainConfig, Trainer
    path = tmp_path / "t.txt"
    path.write_text("x = (1, 2)\n" * 100, encoding="utf-8")
    cfg = TrainConfig(data=str(path), cell="gru", hidden=8, layers=1, embedding=4, seq_len=8, batch=4, steps=1,
                      eval_every=0, sample_every=0, out=str(tmp_path / "gru"))
    Trainer(cfg, log=lambda m: None, progress_stream=open(os.devnull, "w")).run()
    with pytest.raises(ValueError, match="expected an LSTM checkpoint"):
        demo("interpretable_cells").main(["--checkpoint", str(tmp_path / "gru" / "last.npz"),
                                          "--out", str(tmp_path / "b")])


# -------------------------------------------------------------------------------------- ngram_vs_neural

def test_ngram_vs_neural(tmp_path):
    result = run_demo("ngram_vs_neural", tmp_path)
    ngram, neural, uniform = result["ngram"], result["neural"], result["uniform"]
    assert sorted(ngram) == [1, 2, 3, 4] and sorted(neural) == ["gru", "lstm", "rnn"]
    # more context helps the counts: each order beats the one below it on this text
    losses = [ngram[n] for n in sorted(ngram)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert ngram[1] < uniform - 1.0                                     # character frequencies alone
    for cell, nats in neural.items():
        assert math.isfinite(nats) and nats < ngram[1] - 0.3, cell      # every network beats the unigram
    table = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert table.count("| Kneser-Ney, order") == 4 and "| GRU 1x48 |" in table
    assert (tmp_path / "validation_loss.png").read_bytes()[:4] == b"\x89PNG"
