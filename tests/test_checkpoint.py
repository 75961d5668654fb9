"""Checkpoints: round trip, corruption of every kind rejected with CheckpointError, no pickle, atomicity."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import tinygrad_rnn.training.checkpoint as ck
from tinygrad_rnn.training.checkpoint import (CheckpointError, flatten_state, load_checkpoint,
                                              save_checkpoint, unflatten_state)


def sample_arrays():
    rng = np.random.default_rng(0)
    return {"lstm/weight_ih_l0": rng.standard_normal((8, 3)).astype(np.float32),
            "lstm/bias": np.zeros(8, np.float64),
            "step": np.array(7, np.int64), "ids": np.arange(5, dtype=np.int32),
            "mask": np.array([True, False]), "bytes": np.arange(4, dtype=np.uint8),
            "empty": np.zeros((0, 3), np.float32)}


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rewrite(path, new_members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in new_members.items():
            zf.writestr(name, data)


def npy_bytes(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def set_manifest(m, fn):
    doc = json.loads(np.load(io.BytesIO(m[ck.META_KEY + ".npy"])).tobytes())
    fn(doc)
    m[ck.META_KEY + ".npy"] = npy_bytes(np.frombuffer(json.dumps(doc).encode(), np.uint8))


def test_round_trip(tmp_path):
    path = tmp_path / "c.npz"
    arrays = sample_arrays()
    fortran = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))
    arrays["fortran"] = fortran
    arrays["bigendian"] = np.arange(3, dtype=">f4")
    meta = {"step": 12, "lr": 0.001, "name": "lstm", "nested": {"a": [1, 2.5, None, True]}}
    save_checkpoint(path, arrays, meta)
    got, got_meta = load_checkpoint(path)
    assert got_meta == meta and set(got) == set(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k], v)
        assert got[k].shape == v.shape and got[k].dtype == v.dtype.newbyteorder("=")
    assert got["lstm/weight_ih_l0"].dtype == np.float32 and got["lstm/weight_ih_l0"].flags.writeable
    # np.load with pickling off reads it too: it is an ordinary .npz
    with np.load(path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["lstm/weight_ih_l0"], arrays["lstm/weight_ih_l0"])


def test_truncated_at_every_offset_is_rejected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.arange(6, dtype=np.float32), "b": np.ones(2, np.int64)}, {"s": 1})
    data = path.read_bytes()
    bad = tmp_path / "t.npz"
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            load_checkpoint(bad)


def test_corrupted_bytes_are_rejected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.arange(64, dtype=np.float32)}, {"s": 1})
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for pos in rng.choice(len(data), size=150, replace=False):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0xFF
        (tmp_path / "x.npz").write_bytes(bytes(corrupt))
        try:
            arrays, meta = load_checkpoint(tmp_path / "x.npz")
        except CheckpointError:
            continue
        # a flip in bytes nobody reads (e.g. zip timestamps) may pass, but then the content is intact
        np.testing.assert_array_equal(arrays["w"], np.arange(64, dtype=np.float32))
        assert meta == {"s": 1}


def test_not_a_zip_and_missing_file(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"hello, this is not a zip file at all")
    with pytest.raises(CheckpointError, match="expected a valid checkpoint"):
        load_checkpoint(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="got no file at"):
        load_checkpoint(tmp_path / "nothing.npz")
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(3))
    with pytest.raises(CheckpointError, match="expected a '__checkpoint__.npy' member"):
        load_checkpoint(plain)


class WritesAFile:
    """Unpickling this object calls open(marker, 'w'), creating the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_member_is_rejected_and_never_executed(tmp_path):
    marker = str(tmp_path / "executed.txt")
    payload = np.empty(1, dtype=object)
    payload[0] = WritesAFile(marker)
    evil = npy_bytes(payload, allow_pickle=True)
    # control: the payload really does run code when unpickled
    control = np.load(io.BytesIO(evil), allow_pickle=True)
    assert os.path.exists(marker)
    control[0].close()
    os.remove(marker)

    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.ones(1, np.float32)}, {})
    m = members(path)
    m["w.npy"] = evil                                   # manifest still says float32
    rewrite(path, m)
    with pytest.raises(CheckpointError, match="object or structured data is never loaded"):
        load_checkpoint(path)
    set_manifest(m, lambda d: d["arrays"]["w"].update(dtype="|O"))   # manifest agrees with the payload
    rewrite(path, m)
    with pytest.raises(CheckpointError, match="expected dtype in"):
        load_checkpoint(path)
    m2 = members(path)
    m2[ck.META_KEY + ".npy"] = evil                     # the metadata member itself pickled
    rewrite(path, m2)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not os.path.exists(marker)


def test_missing_and_extra_members(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"a": np.ones(2), "b": np.zeros(2)}, {})
    m = members(path)
    del m["b.npy"]
    rewrite(path, m)
    with pytest.raises(CheckpointError, match=r"missing \['b.npy'\], unexpected \[\]"):
        load_checkpoint(path)
    m["b.npy"] = npy_bytes(np.zeros(2))
    m["sneaky.npy"] = npy_bytes(np.zeros(2))
    rewrite(path, m)
    with pytest.raises(CheckpointError, match=r"missing \[\], unexpected \['sneaky.npy'\]"):
        load_checkpoint(path)


def test_wrong_shape_dtype_checksum_and_header(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, {})
    good = members(path)

    m = dict(good, **{"w.npy": npy_bytes(np.arange(6, dtype=np.float32).reshape(3, 2))})
    rewrite(path, m)
    with pytest.raises(CheckpointError, match=r"array 'w': expected shape \(2, 3\) as the manifest says, "
                                              r"got \(3, 2\) in the file"):
        load_checkpoint(path)

    m = dict(good, **{"w.npy": npy_bytes(np.arange(6, dtype=np.float64).reshape(2, 3))})
    rewrite(path, m)
    with pytest.raises(CheckpointError, match="expected dtype <f4 as the manifest says, got <f8"):
        load_checkpoint(path)

    m = dict(good, **{"w.npy": npy_bytes(np.arange(1, 7, dtype=np.float32).reshape(2, 3))})
    rewrite(path, m)
    with pytest.raises(CheckpointError, match="sha256 of the data does not match the manifest"):
        load_checkpoint(path)

    m = dict(good)
    set_manifest(m, lambda d: d["arrays"]["w"].update(shape=[4, 3]))
    rewrite(path, m)
    with pytest.raises(CheckpointError, match=r"expected shape \(4, 3\)"):
        load_checkpoint(path)

    # a .npy header claiming a huge length
    raw = bytearray(good["w.npy"])
    raw[8:10] = (60000).to_bytes(2, "little")
    rewrite(path, dict(good, **{"w.npy": bytes(raw)}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)

    # data bytes missing after a consistent header
    rewrite(path, dict(good, **{"w.npy": good["w.npy"][:-4]}))
    with pytest.raises(CheckpointError, match=r"expected \d+ bytes for shape \(2, 3\) <f4, got \d+"):
        load_checkpoint(path)


def test_bad_json_and_format(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, {"x": 1})
    good = members(path)
    for blob, pattern in [(b"{not json", "unparsable"), (b"\xff\xfe", "unparsable"),
                          (b'{"format": "other", "version": 1}', "expected format 'tinygrad_rnn.checkpoint'"),
                          (b'{"format": "tinygrad_rnn.checkpoint", "version": 99, "arrays": {}, "meta": {}}',
                           "expected format version 1, got 99"),
                          (b'{"format": "tinygrad_rnn.checkpoint", "version": 1, "arrays": {}, '
                           b'"meta": {"x": NaN}}', "expected finite numbers in metadata, got NaN"),
                          (b"[1, 2]", "expected format")]:
        rewrite(path, {ck.META_KEY + ".npy": npy_bytes(np.frombuffer(blob, np.uint8))})
        with pytest.raises(CheckpointError, match=pattern):
            load_checkpoint(path)
    rewrite(path, good)
    assert load_checkpoint(path) == ({}, {"x": 1})


def test_nan_is_never_saved_or_loaded(tmp_path):
    path = tmp_path / "c.npz"
    w = np.ones((2, 2), np.float32)
    w[1, 0] = np.nan
    with pytest.raises(CheckpointError, match=r"refusing to save array 'w': expected finite values, got 1 "
                                              r"non-finite \(1 NaN\) of 4, first at flat index 2"):
        save_checkpoint(path, {"w": w}, {})
    assert not path.exists()
    with pytest.raises(CheckpointError, match="refusing to save array 'b'"):
        save_checkpoint(path, {"b": np.array([np.inf])}, {})
    with pytest.raises(CheckpointError, match=r"expected finite numbers in metadata, got nan at meta\['loss'\]"):
        save_checkpoint(path, {}, {"loss": float("nan")})
    # a file carrying NaN weights with a matching checksum is still refused on load
    save_checkpoint(path, {"w": np.ones((2, 2), np.float32)}, {})
    m = members(path)
    m["w.npy"] = npy_bytes(w)
    set_manifest(m, lambda d: d["arrays"]["w"].update(sha256=ck._sha256(w)))
    rewrite(path, m)
    with pytest.raises(CheckpointError, match="refusing to load array 'w'"):
        load_checkpoint(path)


def test_save_rejects_bad_input(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(CheckpointError, match=r"expected dtype in .*got float16"):
        save_checkpoint(path, {"h": np.ones(2, np.float16)}, {})
    with pytest.raises(CheckpointError, match="reserved"):
        save_checkpoint(path, {ck.META_KEY: np.ones(2)}, {})
    with pytest.raises(CheckpointError, match="array name"):
        save_checkpoint(path, {"../evil": np.ones(2)}, {})
    with pytest.raises(TypeError, match="expected array 'w' to be a numpy.ndarray, got list"):
        save_checkpoint(path, {"w": [1.0]}, {})
    with pytest.raises(CheckpointError, match="expected str keys in metadata dicts, got 0"):
        save_checkpoint(path, {}, {"state": {0: 1}})
    assert not path.exists() and os.listdir(tmp_path) == []


def test_crash_midway_keeps_old_checkpoint_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.zeros(3, np.float32)}, {"step": 1})
    real_write = np.lib.format.write_array
    calls = {"n": 0}

    def failing_write(fp, arr, **kw):
        calls["n"] += 1
        if calls["n"] == 2:                          # metadata written, first array half-way
            fp.write(b"partial")
            raise OSError("disk full (simulated)")
        return real_write(fp, arr, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, {"w": np.ones(3, np.float32)}, {"step": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.npz"]
    arrays, meta = load_checkpoint(path)
    assert meta == {"step": 1} and arrays["w"].tolist() == [0, 0, 0]

    def failing_replace(src, dst):
        raise OSError("power cut before rename (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="power cut"):
        save_checkpoint(path, {"w": np.ones(3, np.float32)}, {"step": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.npz"]
    assert load_checkpoint(path)[1] == {"step": 1}
    save_checkpoint(path, {"w": np.ones(3, np.float32)}, {"step": 2})
    assert load_checkpoint(path)[1] == {"step": 2} and os.listdir(tmp_path) == ["c.npz"]


def test_flatten_unflatten_optimizer_model_and_rng_state(tmp_path):
    rng = np.random.default_rng(3)
    optim = {"state": {0: {"exp_avg": np.ones((2, 2), np.float32), "step": 3},
                       1: {"exp_avg": np.zeros(4, np.float32), "step": 3}},
             "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "name": None}]}
    model = {"weight": np.full((2, 3), 0.5, np.float32), "scale": np.float32(2.5)}
    rng_state = rng.bit_generator.state                  # PCG64: dict with 128-bit ints
    a1, s1 = flatten_state(optim, prefix="optim")
    a2, s2 = flatten_state(model, prefix="model")
    assert set(a1) == {"optim/state/0/exp_avg", "optim/state/1/exp_avg"}
    save_checkpoint(tmp_path / "c.npz", {**a1, **a2}, {"optim": s1, "model": s2, "rng": rng_state})
    arrays, meta = load_checkpoint(tmp_path / "c.npz")
    optim2 = unflatten_state(meta["optim"], arrays)
    model2 = unflatten_state(meta["model"], arrays)
    assert set(optim2["state"]) == {0, 1} and optim2["state"][0]["step"] == 3
    np.testing.assert_array_equal(optim2["state"][0]["exp_avg"], optim["state"][0]["exp_avg"])
    assert optim2["param_groups"] == optim["param_groups"]     # tuple (0.9, 0.999) preserved
    assert isinstance(model2["scale"], np.float32) and model2["scale"] == np.float32(2.5)
    restored = np.random.default_rng()
    restored.bit_generator.state = meta["rng"]
    assert restored.random() == rng.random()


def test_flatten_errors():
    with pytest.raises(CheckpointError, match="expected finite floats, got inf at 'x/lr'"):
        flatten_state({"lr": float("inf")}, prefix="x")
    with pytest.raises(CheckpointError, match="two leaves map to the array name 'p/0'"):
        flatten_state({0: np.ones(1), "0": np.ones(1)}, prefix="p")
    with pytest.raises(CheckpointError, match="expected dict keys without '/', got 'a/b'"):
        flatten_state({"a/b": np.ones(1)}, prefix="p")
    with pytest.raises(CheckpointError, match="expected ndarrays, containers or JSON scalars, got set"):
        flatten_state({"s": {1, 2}}, prefix="p")
