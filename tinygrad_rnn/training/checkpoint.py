"""Safe, atomic checkpoints: named NumPy arrays plus JSON metadata in one ``.npz`` file, never pickle.

File layout: an uncompressed zip (what ``np.savez`` writes) with one ``.npy`` member per array and one
member ``__checkpoint__.npy``, a uint8 array holding UTF-8 JSON::

    {"format": "tinygrad_rnn.checkpoint", "version": 1,
     "arrays": {name: {"shape": [...], "dtype": "<f4", "sha256": "..."}, ...},
     "meta": <the caller's JSON metadata>}

Loading trusts nothing: every member must be listed in the manifest and vice versa, each ``.npy`` header is
parsed with a size limit and must match the manifest's shape and dtype before its data is read, the bytes
must match the sha256, and float arrays must be finite. Only float32/float64/int64/int32/uint8/bool arrays
exist in a checkpoint, so no member is ever unpickled and nothing in a file is ever executed. Every problem
raises :class:`CheckpointError`.

Saving writes a temporary file in the same directory, flushes and fsyncs it, renames it over the target
with ``os.replace`` and fsyncs the directory, so a crash at any moment leaves either the old or the new
checkpoint, both loadable.

>>> import tempfile, os, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> save_checkpoint(path, {"w": np.ones((2, 3), np.float32)}, {"step": 10})
>>> arrays, meta = load_checkpoint(path)
>>> arrays["w"].dtype, arrays["w"].shape, meta
(dtype('float32'), (2, 3), {'step': 10})
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np

FORMAT = "tinygrad_rnn.checkpoint"
VERSION = 1
META_KEY = "__checkpoint__"          # reserved member name for the JSON metadata
ALLOWED_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_))
MAX_META_BYTES = 64 * 2**20          # JSON metadata larger than this is refused
MAX_HEADER_BYTES = 4096              # a .npy header of a plain array is ~128 bytes


class CheckpointError(ValueError):
    """A checkpoint file (or what is being saved into one) is malformed, corrupt or unsafe."""


# ------------------------------------------------------------------------------------------- validation

def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise CheckpointError(f"checkpoint: expected array names to be non-empty str, got {key!r}")
    if key == META_KEY:
        raise CheckpointError(f"checkpoint: the array name {META_KEY!r} is reserved for the metadata")
    if len(key) > 512 or key.startswith("/") or "\\" in key or any(ord(c) < 32 for c in key) \
            or any(part in ("", ".", "..") for part in key.split("/")):
        raise CheckpointError(
            f"checkpoint: expected an array name of '/'-separated non-empty parts without '.', '..', "
            f"backslashes or control characters (at most 512 characters), got {key!r}")
    return key


def _canonical_dtype(dt: np.dtype) -> np.dtype:
    for ok in ALLOWED_DTYPES:
        if dt == ok or (dt.kind == ok.kind and dt.itemsize == ok.itemsize and dt.kind != "V"):
            return ok.newbyteorder("<")
    names = ", ".join(str(d) for d in ALLOWED_DTYPES)
    raise CheckpointError(f"expected dtype in ({names}), got {dt}")


def _check_finite(key: str, arr: np.ndarray, action: str) -> None:
    if arr.dtype.kind == "f" and arr.size and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.reshape(-1)))
        n_nan = int(np.isnan(arr).sum())
        raise CheckpointError(
            f"checkpoint: refusing to {action} array {key!r}: expected finite values, got {bad.size} "
            f"non-finite ({n_nan} NaN) of {arr.size}, first at flat index {int(bad[0])}")


def _check_json(obj: Any, where: str) -> None:
    """Raise unless obj is made of dict (str keys), list, tuple, str, int, finite float, bool and None."""
    stack = [(obj, where)]
    while stack:
        x, at = stack.pop()
        if x is None or isinstance(x, (bool, int, str)):
            continue
        if isinstance(x, float):
            if not math.isfinite(x):
                raise CheckpointError(f"checkpoint: expected finite numbers in metadata, got {x} at {at}")
            continue
        if isinstance(x, dict):
            for k, v in x.items():
                if not isinstance(k, str):
                    raise CheckpointError(f"checkpoint: expected str keys in metadata dicts, got {k!r} at {at} "
                                          "(flatten_state keeps int keys)")
                stack.append((v, f"{at}[{k!r}]"))
            continue
        if isinstance(x, (list, tuple)):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(x))
            continue
        raise CheckpointError(f"checkpoint: expected JSON values in metadata, got {type(x).__name__} at {at}")


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(arr.tobytes(order="C")).hexdigest()


# ------------------------------------------------------------------------------------------------ save

def _prepare(arrays: dict, meta: dict) -> tuple[dict[str, np.ndarray], bytes]:
    if not isinstance(arrays, dict):
        raise TypeError(f"save_checkpoint: expected arrays to be a dict of name -> ndarray, "
                        f"got {type(arrays).__name__}")
    if not isinstance(meta, dict):
        raise TypeError(f"save_checkpoint: expected meta to be a dict, got {type(meta).__name__}")
    out: dict[str, np.ndarray] = {}
    manifest: dict[str, dict] = {}
    for key in sorted(arrays, key=str):
        arr = arrays[key]
        _check_key(key)
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"save_checkpoint: expected array {key!r} to be a numpy.ndarray, "
                            f"got {type(arr).__name__}")
        try:
            dt = _canonical_dtype(arr.dtype)
        except CheckpointError as e:
            raise CheckpointError(f"save_checkpoint: array {key!r}: {e}") from None
        arr = np.asarray(arr, dtype=dt, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        _check_finite(key, arr, "save")
        out[key] = arr
        manifest[key] = {"shape": list(arr.shape), "dtype": dt.str, "sha256": _sha256(arr)}
    _check_json(meta, "meta")
    doc = {"format": FORMAT, "version": VERSION, "arrays": manifest, "meta": meta}
    blob = json.dumps(doc, allow_nan=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    if len(blob) > MAX_META_BYTES:
        raise CheckpointError(f"save_checkpoint: expected metadata of at most {MAX_META_BYTES} bytes, "
                              f"got {len(blob)}")
    return out, blob


def _write_zip(fileobj, arrays: dict[str, np.ndarray], blob: bytes) -> None:
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        members = [(META_KEY, np.frombuffer(blob, dtype=np.uint8))] + list(arrays.items())
        for key, arr in members:
            with zf.open(key + ".npy", mode="w", force_zip64=arr.nbytes > 2**30) as fp:
                np.lib.format.write_array(fp, arr, allow_pickle=False)


def _fsync_dir(directory: str) -> None:
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    """Atomically write ``arrays`` (name -> ndarray) and JSON ``meta`` to one ``.npz`` file at ``path``.

    Names are '/'-separated strings; dtypes must be float32/float64/int64/int32/uint8/bool (byte order is
    normalised to little-endian); float arrays must be finite; ``meta`` must be JSON (str-keyed dicts,
    lists, str, int, finite float, bool, None; tuples come back as lists). Raises CheckpointError (or
    TypeError for a wrong argument type) before anything is written.
    """
    arrays_c, blob = _prepare(arrays, {} if meta is None else meta)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, arrays_c, blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


# ------------------------------------------------------------------------------------------------ load

# Everything a damaged zip or .npy member can raise while being read; all become CheckpointError.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
                KeyError, IndexError, TypeError, OverflowError, NotImplementedError, RuntimeError,
                UnicodeDecodeError, SyntaxError)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                 want_shape: tuple | None, want_dtype: np.dtype | None) -> np.ndarray:
    """Read one .npy member, checking its header against the expectation before reading any data."""
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=MAX_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=MAX_HEADER_BYTES)
        else:
            raise CheckpointError(f"load_checkpoint: member {name!r}: expected .npy format 1.0 or 2.0, "
                                  f"got {version}")
        if dtype.hasobject or dtype.kind in "OV":
            raise CheckpointError(f"load_checkpoint: member {name!r}: expected a plain numeric array, got "
                                  f"dtype {dtype} (object or structured data is never loaded)")
        if dtype not in ALLOWED_DTYPES or dtype.byteorder == ">":
            raise CheckpointError(f"load_checkpoint: member {name!r}: expected a little-endian dtype in "
                                  f"{[d.str for d in ALLOWED_DTYPES]}, got {dtype.str}")
        if want_dtype is not None and dtype != want_dtype:
            raise CheckpointError(f"load_checkpoint: array {name!r}: expected dtype {want_dtype.str} as the "
                                  f"manifest says, got {dtype.str} in the file")
        if want_shape is not None and tuple(shape) != want_shape:
            raise CheckpointError(f"load_checkpoint: array {name!r}: expected shape {want_shape} as the "
                                  f"manifest says, got {tuple(shape)} in the file")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        header_end = fp.tell()
        if info.file_size != header_end + nbytes:
            raise CheckpointError(
                f"load_checkpoint: member {name!r}: expected {header_end + nbytes} bytes for shape "
                f"{tuple(shape)} {dtype.str}, got {info.file_size}")
        data = fp.read(nbytes)
        if len(data) != nbytes:
            raise CheckpointError(f"load_checkpoint: member {name!r}: expected {nbytes} data bytes, "
                                  f"got {len(data)}")
        if fp.read(1):
            raise CheckpointError(f"load_checkpoint: member {name!r}: unexpected bytes after the array data")
    arr = np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
    return np.array(arr, order="C")  # writable, C-ordered copy


def _reject_constant(name: str):
    raise CheckpointError(f"load_checkpoint: expected finite numbers in metadata, got {name}")


def _parse_meta(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> dict:
    member = META_KEY + ".npy"
    if member not in infos:
        raise CheckpointError(f"load_checkpoint: expected a {member!r} member holding the metadata, "
                              f"got members {sorted(infos)[:10]}")
    if infos[member].file_size > MAX_META_BYTES + MAX_HEADER_BYTES:
        raise CheckpointError(f"load_checkpoint: expected metadata of at most {MAX_META_BYTES} bytes, "
                              f"got a {infos[member].file_size}-byte member")
    raw = _read_member(zf, infos[member], META_KEY, None, np.dtype(np.uint8))
    if raw.ndim != 1:
        raise CheckpointError(f"load_checkpoint: expected 1-D metadata bytes, got shape {raw.shape}")
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise CheckpointError(f"load_checkpoint: expected UTF-8 JSON metadata, got unparsable bytes ({e})") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CheckpointError(f"load_checkpoint: expected format {FORMAT!r}, got {got!r}")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"load_checkpoint: expected format version {VERSION}, got {doc.get('version')!r}")
    manifest, meta = doc.get("arrays"), doc.get("meta")
    if not isinstance(manifest, dict) or not isinstance(meta, dict):
        raise CheckpointError("load_checkpoint: expected 'arrays' and 'meta' objects in the metadata")
    for key, entry in manifest.items():
        _check_key(key)
        ok = (isinstance(entry, dict) and set(entry) == {"shape", "dtype", "sha256"}
              and isinstance(entry["shape"], list)
              and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**62 for s in entry["shape"])
              and len(entry["shape"]) <= 32 and isinstance(entry["dtype"], str)
              and isinstance(entry["sha256"], str) and len(entry["sha256"]) == 64)
        if not ok:
            raise CheckpointError(f"load_checkpoint: expected manifest entry {{shape, dtype, sha256}} for "
                                  f"{key!r}, got {str(entry)[:200]}")
        try:
            dt = np.dtype(entry["dtype"])
        except TypeError:
            raise CheckpointError(f"load_checkpoint: array {key!r}: unknown dtype {entry['dtype']!r}") from None
        if dt not in ALLOWED_DTYPES or dt.str != entry["dtype"]:
            raise CheckpointError(f"load_checkpoint: array {key!r}: expected dtype in "
                                  f"{[d.str for d in ALLOWED_DTYPES]}, got {entry['dtype']!r}")
    return doc


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Load and fully validate a checkpoint written by :func:`save_checkpoint`: returns ``(arrays, meta)``.

    Raises FileNotFoundError if there is no file at ``path`` and CheckpointError for anything wrong with it.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_checkpoint: expected a checkpoint file, got no file at '{path}'")
    if os.path.isdir(path):
        raise CheckpointError(f"load_checkpoint: expected a checkpoint file, got a directory at '{path}'")
    try:
        with zipfile.ZipFile(path, mode="r") as zf:
            infos_list = zf.infolist()
            infos = {i.filename: i for i in infos_list}
            if len(infos) != len(infos_list):
                raise CheckpointError(f"load_checkpoint: expected unique member names in '{path}', "
                                      "got duplicates")
            doc = _parse_meta(zf, infos)
            manifest = doc["arrays"]
            expected = {k + ".npy" for k in manifest} | {META_KEY + ".npy"}
            missing, extra = sorted(expected - set(infos)), sorted(set(infos) - expected)
            if missing or extra:
                raise CheckpointError(f"load_checkpoint: members of '{path}' do not match its manifest: "
                                      f"missing {missing[:10]}, unexpected {extra[:10]}")
            arrays: dict[str, np.ndarray] = {}
            for key in sorted(manifest):
                entry = manifest[key]
                arr = _read_member(zf, infos[key + ".npy"], key, tuple(entry["shape"]), np.dtype(entry["dtype"]))
                if _sha256(arr) != entry["sha256"]:
                    raise CheckpointError(f"load_checkpoint: array {key!r}: sha256 of the data does not "
                                          "match the manifest (the file is corrupt or was edited)")
                _check_finite(key, arr, "load")
                arrays[key] = arr
    except CheckpointError:
        raise
    except _READ_ERRORS as e:
        raise CheckpointError(f"load_checkpoint: expected a valid checkpoint (.npz zip) at '{path}', got a "
                              f"damaged or foreign file: {type(e).__name__}: {e}") from None
    return arrays, doc["meta"]


# ------------------------------------------------------------------------------- nested state helpers

def flatten_state(tree: Any, prefix: str = "") -> tuple[dict[str, np.ndarray], Any]:
    """Split a nested structure into ``(arrays, skeleton)``: ndarrays by path name, the rest as JSON.

    ``tree`` may nest dicts (str or int keys), lists and tuples, with ndarrays, NumPy scalars and JSON
    scalars (None, bool, int, finite float, str) as leaves. In the JSON skeleton every container is a
    one-key object (``{"dict": [[key, value], ...]}``, ``{"list": [...]}``, ``{"tuple": [...]}``), an
    array leaf is ``{"array": name}`` and a NumPy scalar ``{"scalar": name}`` (stored as a 0-d array, so
    its dtype survives); plain scalars stay as they are. Array names are the keys on the path joined by '/'
    after ``prefix``. :func:`unflatten_state` inverts it exactly.

    >>> arrays, skel = flatten_state({"state": {0: {"exp_avg": np.zeros(2), "step": 3}}}, prefix="optim")
    >>> list(arrays), unflatten_state(skel, arrays)["state"][0]["step"]
    (['optim/state/0/exp_avg'], 3)
    """
    arrays: dict[str, np.ndarray] = {}

    def name_of(path: list[str]) -> str:
        key = "/".join(path)
        if not key:
            raise CheckpointError("flatten_state: a top-level array needs a non-empty prefix")
        _check_key(key)
        if key in arrays:
            raise CheckpointError(f"flatten_state: two leaves map to the array name {key!r}")
        return key

    def walk(x: Any, path: list[str]) -> Any:
        if isinstance(x, np.ndarray):
            key = name_of(path)
            arrays[key] = x
            return {"array": key}
        if isinstance(x, np.generic):
            key = name_of(path)
            arrays[key] = np.asarray(x)
            return {"scalar": key}
        if x is None or isinstance(x, (bool, int, str)):
            return x
        if isinstance(x, float):
            if not math.isfinite(x):
                raise CheckpointError(f"flatten_state: expected finite floats, got {x} at {'/'.join(path)!r}")
            return x
        if isinstance(x, dict):
            items = []
            for k, v in x.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise CheckpointError(f"flatten_state: expected str or int dict keys, got {k!r} "
                                          f"at {'/'.join(path)!r}")
                if isinstance(k, str) and ("/" in k or not k):
                    raise CheckpointError(f"flatten_state: expected dict keys without '/', got {k!r}")
                items.append([k, walk(v, path + [str(k)])])
            return {"dict": items}
        if isinstance(x, (list, tuple)):
            tag = "list" if isinstance(x, list) else "tuple"
            return {tag: [walk(v, path + [str(i)]) for i, v in enumerate(x)]}
        raise CheckpointError(f"flatten_state: expected ndarrays, containers or JSON scalars, got "
                              f"{type(x).__name__} at {'/'.join(path)!r}")

    skeleton = walk(tree, [prefix] if prefix else [])
    return arrays, skeleton


def unflatten_state(skeleton: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild the nested structure that :func:`flatten_state` split into ``(arrays, skeleton)``."""
    def build(s: Any) -> Any:
        if s is None or isinstance(s, (bool, int, float, str)):
            return s
        if isinstance(s, dict) and len(s) == 1:
            (tag, body), = s.items()
            if tag in ("array", "scalar"):
                if body not in arrays:
                    raise CheckpointError(f"unflatten_state: expected an array named {body!r}, got none")
                return arrays[body] if tag == "array" else arrays[body][()]
            if tag == "dict" and isinstance(body, list) and all(
                    isinstance(kv, list) and len(kv) == 2 and isinstance(kv[0], (str, int)) for kv in body):
                return {k: build(v) for k, v in body}
            if tag == "list" and isinstance(body, list):
                return [build(v) for v in body]
            if tag == "tuple" and isinstance(body, list):
                return tuple(build(v) for v in body)
        raise CheckpointError(f"unflatten_state: expected a skeleton node from flatten_state, "
                              f"got {str(s)[:100]}")
    return build(skeleton)
