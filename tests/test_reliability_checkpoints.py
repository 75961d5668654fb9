"""Hostile checkpoints through every public loading path: load_checkpoint, load_model, Trainer.resume and the
CLI's ``sample`` and ``eval``. Each file is rejected with an error saying what was expected, the CLI answers
with one line and exit code 2, and a pickled sentinel proves that nothing inside a file is ever executed.

tests/test_checkpoint.py covers the container format on tiny synthetic files; here the files are real
language-model checkpoints, altered the way a damaged disk or a hostile author would alter them.
"""
import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pytest

from tinygrad_rnn.cli import main
from tinygrad_rnn.training.checkpoint import META_KEY, CheckpointError, load_checkpoint, save_checkpoint
from tinygrad_rnn.training.trainer import TrainConfig, Trainer, load_model

PATTERN = "a stitch in time saves nine.\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished tiny LSTM run: its directory, data file and last.npz."""
    root = tmp_path_factory.mktemp("hostile")
    data = root / "text.txt"
    data.write_text(PATTERN * 30, encoding="utf-8")
    cfg = TrainConfig(data=str(data), hidden=8, layers=1, embedding=4, seq_len=6, batch=3, steps=2,
                      eval_every=2, sample_every=0, schedule="constant", out=str(root / "run"))
    Trainer(cfg, log=lambda m: None, progress_stream=open(os.devnull, "w")).run()
    return root / "run" / "last.npz"


class WritesAFile:
    """Unpickling this object calls open(marker, 'w'): if the file appears, code from a checkpoint ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ------------------------------------------------------------------------------------------ forging

def npy(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def read_members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_members(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def forge(path, arrays, meta):
    """Write a checkpoint the way a hostile author would: the documented layout with correct checksums, but
    none of save_checkpoint's checks (so NaN, any dtype, any shape can go in)."""
    manifest = {k: {"shape": list(v.shape), "dtype": v.dtype.str,
                    "sha256": hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()}
                for k, v in arrays.items()}
    doc = {"format": "tinygrad_rnn.checkpoint", "version": 1, "arrays": manifest, "meta": meta}
    members = {META_KEY + ".npy": npy(np.frombuffer(json.dumps(doc).encode(), np.uint8))}
    members.update({k + ".npy": npy(v) for k, v in arrays.items()})
    write_members(path, members)
    return path


def edited(run, tmp_path, name, edit_arrays=None, edit_meta=None):
    """A copy of the run's checkpoint with its arrays/meta changed by the given functions, checksums right."""
    arrays, meta = load_checkpoint(run)
    if edit_arrays:
        edit_arrays(arrays)
    if edit_meta:
        edit_meta(meta)
    return forge(tmp_path / name, arrays, meta)


# ------------------------------------------------------------------------------------------ loaders

def rejected_everywhere(path, pattern, capsys, resume=True):
    """Every public loader refuses ``path`` with a ValueError matching ``pattern``; the CLI exits 2."""
    with pytest.raises(ValueError, match=pattern):
        load_model(str(path))
    if resume:
        with pytest.raises(ValueError, match=pattern):
            Trainer.resume(str(path), log=lambda m: None, progress_stream=open(os.devnull, "w"))
    for command in (["sample", str(path), "--length", "3"], ["eval", str(path)]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2, (command, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert pattern is None or __import__("re").search(pattern, err), err


def test_the_fixture_checkpoint_loads_everywhere(run, capsys):
    model, vocab, meta = load_model(str(run))
    assert meta["step"] == 2 and len(vocab) == model.vocab_size
    assert Trainer.resume(str(run), log=lambda m: None).step == 2
    assert main(["sample", str(run), "--length", "5", "--seed", "0"]) == 0
    assert main(["eval", str(run)]) == 0
    capsys.readouterr()


def test_truncated_at_many_offsets(run, tmp_path, capsys):
    data = run.read_bytes()
    bad = tmp_path / "cut.npz"
    offsets = sorted(set(np.linspace(0, len(data) - 1, 37).astype(int).tolist()
                         + [len(data) - k for k in (1, 2, 22, 23, 100)]))
    for cut in offsets:
        bad.write_bytes(data[:cut])
        rejected_everywhere(bad, "load_checkpoint", capsys)
    assert len(offsets) >= 40


def test_a_pickled_sentinel_is_never_executed(run, tmp_path, capsys):
    marker = tmp_path / "executed.txt"
    payload = np.empty(1, dtype=object)
    payload[0] = WritesAFile(str(marker))
    evil = npy(payload, allow_pickle=True)
    good = read_members(run)
    weight = "model/decoder.weight.npy"
    assert weight in good
    doc = json.loads(np.load(io.BytesIO(good[META_KEY + ".npy"])).tobytes())
    doc["arrays"]["model/decoder.weight"].update(dtype="|O", shape=[1])
    variants = {
        "weight.npz": dict(good, **{weight: evil}),                                     # manifest says float32
        "agrees.npz": dict(good, **{weight: evil, META_KEY + ".npy": npy(np.frombuffer(json.dumps(doc).encode(),
                                                                                        np.uint8))}),
        "meta.npz": dict(good, **{META_KEY + ".npy": evil}),                            # the metadata itself
        "extra.npz": dict(good, **{"payload.npy": evil}),                               # an unlisted member
    }
    for name, members in variants.items():
        write_members(tmp_path / name, members)
        rejected_everywhere(tmp_path / name, "load_checkpoint", capsys)
    assert not marker.exists()
    # control: the sentinel does write the marker when unpickled, so its absence above means something
    np.load(io.BytesIO(evil), allow_pickle=True)[0].close()
    assert marker.exists()


def test_huge_or_inconsistent_headers(run, tmp_path, capsys):
    good = read_members(run)
    weight = "model/decoder.weight.npy"
    # a .npy 2.0 header claiming a megabyte of header text
    huge = b"\x93NUMPY\x02\x00" + (2 ** 20).to_bytes(4, "little") + b"{" + b" " * 5000
    # a header claiming 10^12 float32 elements over a few bytes of data (must not allocate 4 TB)
    giant = npy(np.zeros(3, np.float32)).replace(b"(3,)", b"(1000000000000,)", 1)
    # a header whose shape disagrees with the manifest
    other = npy(np.zeros((2, 2), np.float32))
    for name, blob in (("huge", huge), ("giant", giant), ("other", other)):
        write_members(tmp_path / f"{name}.npz", dict(good, **{weight: blob}))
        rejected_everywhere(tmp_path / f"{name}.npz", "load_checkpoint", capsys)
    # the manifest itself claims a giant shape: refused before any data is read
    doc = json.loads(np.load(io.BytesIO(good[META_KEY + ".npy"])).tobytes())
    doc["arrays"]["model/decoder.weight"]["shape"] = [10 ** 12]
    meta_member = npy(np.frombuffer(json.dumps(doc).encode(), np.uint8))
    write_members(tmp_path / "claims.npz", dict(good, **{META_KEY + ".npy": meta_member, weight: giant}))
    rejected_everywhere(tmp_path / "claims.npz", "load_checkpoint", capsys)
    # metadata that is not a JSON object, and a manifest naming a member twice
    write_members(tmp_path / "list.npz", dict(good, **{META_KEY + ".npy": npy(np.frombuffer(b"[]", np.uint8))}))
    rejected_everywhere(tmp_path / "list.npz", "expected format", capsys)


def test_wrong_shapes(run, tmp_path, capsys):
    def transpose(a):
        a["model/decoder.weight"] = np.ascontiguousarray(a["model/decoder.weight"].T)
    rejected_everywhere(edited(run, tmp_path, "shape.npz", transpose), r"decoder\.weight: expected shape", capsys)

    def drop(a):
        del a["model/rnn.weight_hh_l0"]
    rejected_everywhere(edited(run, tmp_path, "missing.npz", drop), r"missing: rnn\.weight_hh_l0", capsys)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.uint8, np.bool_])
def test_wrong_dtypes(run, tmp_path, capsys, dtype):
    def cast(a):
        a["model/decoder.bias"] = a["model/decoder.bias"].astype(dtype)
    path = edited(run, tmp_path, "dtype.npz", cast)
    rejected_everywhere(path, r"model/decoder\.bias: expected dtype float32, got " + np.dtype(dtype).name, capsys)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(run, tmp_path, capsys, value):
    def poison(a):
        a["model/rnn.weight_ih_l0"][1, 2] = value
    rejected_everywhere(edited(run, tmp_path, "nan.npz", poison), "expected finite values", capsys)

    def poison_state(a):                                  # the optimizer's moments, read only on resume
        key = next(k for k in a if k.startswith("optimizer/") and a[k].dtype.kind == "f" and a[k].size)
        a[key].reshape(-1)[0] = value
    path = edited(run, tmp_path, "nan_opt.npz", poison_state)
    with pytest.raises(CheckpointError, match="expected finite values"):
        Trainer.resume(str(path), log=lambda m: None)


def test_vocabulary_that_does_not_fit_the_embedding(run, tmp_path, capsys):
    def grow(meta):
        meta["vocab"]["tokens"] = sorted(meta["vocab"]["tokens"] + ["\u00e9"])
    path = edited(run, tmp_path, "vocab.npz", edit_meta=grow)
    n = len(set(PATTERN))
    rejected_everywhere(path, f"its vocabulary has {n + 1} entries but its model expects {n}", capsys,
                        resume=False)
    with pytest.raises(ValueError, match="does not match the rebuilt"):
        Trainer.resume(str(path), log=lambda m: None)

    def unsorted(meta):
        meta["vocab"]["tokens"] = meta["vocab"]["tokens"][::-1]
    rejected_everywhere(edited(run, tmp_path, "order.npz", edit_meta=unsorted), "sorted order", capsys)

    def foreign(meta):
        meta["vocab"] = {"type": "os.system", "tokens": []}
    rejected_everywhere(edited(run, tmp_path, "type.npz", edit_meta=foreign), "CharVocab or WordVocab", capsys)


def test_unknown_cell_and_bad_model_config(run, tmp_path, capsys):
    def transformer(meta):
        meta["model"]["cell"] = "transformer"
        meta["train"]["cell"] = "transformer"
    rejected_everywhere(edited(run, tmp_path, "cell.npz", edit_meta=transformer), "transformer", capsys)

    def negative(meta):
        meta["model"]["hidden_size"] = -4
        meta["train"]["hidden"] = -4
    rejected_everywhere(edited(run, tmp_path, "neg.npz", edit_meta=negative), "-4", capsys)

    def not_dict(meta):
        meta["model"] = "lstm"
    rejected_everywhere(edited(run, tmp_path, "notdict.npz", edit_meta=not_dict), None, capsys)


@pytest.mark.parametrize("key", ["batcher", "optimizer", "scheduler", "hidden", "rng", "metrics", "step",
                                 "best_val"])
def test_resume_with_a_missing_or_mangled_field(run, tmp_path, key):
    for label, change in (("missing", lambda m: m.pop(key)), ("mangled", lambda m: m.__setitem__(key, [7]))):
        path = edited(run, tmp_path, f"{key}-{label}.npz", edit_meta=change)
        with pytest.raises(ValueError, match="checkpoint|unflatten_state: expected a skeleton node"):
            Trainer.resume(str(path), log=lambda m: None)


def test_resume_with_a_hidden_state_of_the_wrong_shape_or_dtype(run, tmp_path):
    for label, change in (("shape", lambda h: h[:, :1]), ("dtype", lambda h: h.astype(np.float64))):
        def alter(a):
            for key in [k for k in a if k.startswith("hidden/")]:
                a[key] = np.ascontiguousarray(change(a[key]))
        path = edited(run, tmp_path, f"hidden-{label}.npz", alter)
        with pytest.raises(ValueError, match=r"expected the checkpoint's hidden state to be 2 array\(s\) of shape "
                                             r"\(1, 3, 8\) and dtype float32"):
            Trainer.resume(str(path), log=lambda m: None)


def test_a_good_checkpoint_is_unchanged_by_all_this(run):
    before = run.read_bytes()
    arrays, meta = load_checkpoint(run)
    save_checkpoint(run.parent / "copy.npz", arrays, meta)
    assert load_checkpoint(run.parent / "copy.npz")[1] == meta
    assert run.read_bytes() == before
