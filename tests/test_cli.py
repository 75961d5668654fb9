"""The ``tinygrad-rnn`` command line (cli.py), run in-process through main() and once as ``python -m``."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_rnn
from tinygrad_rnn.cli import main
from tinygrad_rnn.training.checkpoint import load_checkpoint

PATTERN = "to be or not to be, that is the question.\n"
TINY = ["--hidden", "16", "--layers", "1", "--embedding", "8", "--seq-len", "8", "--batch", "4"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One tiny trained run shared by the sample/eval/export tests."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "text.txt"
    data.write_text(PATTERN * 40, encoding="utf-8")
    out = root / "run"
    code = main(["train", "--data", str(data), *TINY, "--steps", "4", "--eval-every", "2",
                 "--sample-every", "0", "--out", str(out)])
    assert code == 0
    return out


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_writes_the_run_and_reports(tmp_path, capsys):
    data = tmp_path / "t.txt"
    data.write_text(PATTERN * 40, encoding="utf-8")
    code, out, err = run(capsys, "train", "--data", str(data), *TINY, "--steps", "3", "--eval-every", "3",
                         "--sample-every", "3", "--sample-len", "20", "--out", str(tmp_path / "r"),
                         "--cell", "gru", "--optimizer", "rmsprop", "--schedule", "step", "--seed", "3")
    assert code == 0, err
    assert "model: GRU 1x16" in out and "validation" in out and "--- sample at step 3 ---" in out
    assert "done: step 3" in out and "tokens/s" in out
    assert "step 3/3" in err                                   # the progress line goes to stderr
    assert sorted(os.listdir(tmp_path / "r")) == ["best.npz", "last.npz", "loss.png", "metrics.json"]
    _, meta = load_checkpoint(tmp_path / "r" / "last.npz")
    assert meta["train"]["optimizer"] == "rmsprop" and meta["model"]["cell"] == "gru"


def test_resume_continues_and_keeps_fixed_settings(run_dir, tmp_path, capsys):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    code, out, err = run(capsys, "train", "--resume", str(copy / "last.npz"), "--steps", "6")
    assert code == 0, err
    assert "resuming at step 4" in out
    assert load_checkpoint(copy / "last.npz")[1]["step"] == 6
    code, out, err = run(capsys, "train", "--resume", str(copy / "last.npz"), "--hidden", "32")
    assert code == 2 and "--hidden cannot change when resuming" in err


def test_sample_is_repeatable_and_primed(run_dir, capsys):
    args = ("sample", str(run_dir / "best.npz"), "--length", "30", "--seed", "5", "--prime", "to be")
    code, first, _ = run(capsys, *args)
    assert code == 0 and first.startswith("to be") and len(first) == len("to be") + 30 + 1
    assert run(capsys, *args)[1] == first
    code, greedy, _ = run(capsys, "sample", str(run_dir / "best.npz"), "--length", "10", "--greedy")
    assert code == 0 and len(greedy) == 11


def test_eval_matches_the_runs_own_validation(run_dir, capsys, tmp_path):
    code, out, _ = run(capsys, "eval", str(run_dir / "last.npz"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert code == 0 and f"{metrics['val'][-1]['nats']:.4f} nats/char" in out and "bits/char" in out
    other = tmp_path / "other.txt"
    other.write_text("not to be.\n" * 5, encoding="utf-8")
    code, out, _ = run(capsys, "eval", str(run_dir / "last.npz"), "--data", str(other))
    assert code == 0 and "55 chars" in out


def test_export_prints_a_torch_snippet(run_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "export", str(run_dir / "best.npz"), "--out", str(tmp_path / "w.npz"))
    assert code == 0
    assert (tmp_path / "w.npz").exists() and (tmp_path / "w.json").exists()
    assert "torch.nn.LSTM(8, 16, num_layers=1)" in out and "decoder.load_state_dict" in out


def test_ngram_baseline_improves_with_order(tmp_path, capsys):
    data = tmp_path / "t.txt"
    data.write_text(PATTERN * 40, encoding="utf-8")
    code, out, _ = run(capsys, "ngram", "--data", str(data), "--order", "3")
    assert code == 0
    nats = [float(line.split()[2]) for line in out.splitlines() if line.strip().startswith("order")]
    assert len(nats) == 3 and nats[0] > nats[1] > nats[2]


def write(path, data):
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("case,expect", [
    ("missing", "got no file at"),
    ("empty", "got an empty file"),
    ("short", "for one window"),
    ("latin1", "not valid UTF-8"),
])
def test_bad_training_text_is_one_line_and_exit_2(tmp_path, capsys, case, expect):
    files = {"missing": str(tmp_path / "nope.txt"), "empty": write(tmp_path / "e.txt", b""),
             "short": write(tmp_path / "s.txt", b"abcdefghij" * 5), "latin1": write(tmp_path / "l.txt", b"caf\xe9\n")}
    code, out, err = run(capsys, "train", "--data", files[case], "--out", str(tmp_path / "o"))
    assert code == 2 and expect in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o" / "last.npz").exists()


def test_bad_checkpoint_and_vocabulary_errors(run_dir, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes((run_dir / "best.npz").read_bytes()[:500])
    code, _, err = run(capsys, "sample", str(corrupt))
    assert code == 2 and "load_checkpoint" in err and err.count("\n") == 1
    code, _, err = run(capsys, "sample", str(run_dir / "best.npz"), "--prime", "to Zeta")
    assert code == 2 and "'Z'" in err and err.count("\n") == 1
    unseen = tmp_path / "u.txt"
    unseen.write_text("to be?\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", str(run_dir / "best.npz"), "--data", str(unseen))
    assert code == 2 and "'?'" in err and "position 5" in err
    code, _, err = run(capsys, "eval", str(tmp_path / "none.npz"))
    assert code == 2 and "no file at" in err


def test_an_existing_run_is_never_overwritten(run_dir, capsys):
    before = (run_dir / "best.npz").read_bytes()
    data = load_checkpoint(run_dir / "best.npz")[1]["train"]["data"]
    code, _, err = run(capsys, "train", "--data", data, *TINY, "--steps", "2", "--out", str(run_dir))
    assert code == 2 and "already holds a run" in err
    assert (run_dir / "best.npz").read_bytes() == before


def test_usage_errors_exit_2(capsys):
    assert run(capsys, "train", "--cell", "transformer")[0] == 2
    assert run(capsys)[0] == 2
    assert run(capsys, "--help")[0] == 0


def test_python_dash_m_runs_the_cli(run_dir, tmp_path):
    root = str(Path(tinygrad_rnn.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "sample", str(run_dir / "best.npz"),
                           "--length", "12", "--seed", "1", "--prime", "to"],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("to") and len(done.stdout) == 2 + 12 + 1
    bad = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "eval", str(tmp_path / "missing.npz")],
                         capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
