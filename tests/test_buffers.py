"""The buffer pool: a large array comes back only once nothing holds it, and training is unchanged by it."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.autograd import buffers

BIG = (256, 256)                       # 512 KiB in float64: pooled
SMALL = (8, 8)


def address(array):
    return array.__array_interface__["data"][0]


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    """Each test starts from an empty pool of its own (arrays that other tests still hold stay out of it)."""
    monkeypatch.setattr(buffers, "_pool", {})
    monkeypatch.setattr(buffers, "_pooled_bytes", 0)


def test_a_freed_array_is_handed_out_again():
    a = buffers.empty(BIG, np.float64)
    where = address(a)
    del a
    b = buffers.empty(BIG, np.float64)
    assert address(b) == where
    assert b.shape == BIG and b.dtype == np.float64 and b.flags.c_contiguous and b.flags.writeable


@pytest.mark.parametrize("holder", ["variable", "view", "tensor", "list"])
def test_an_array_still_held_is_never_handed_out(holder):
    a = buffers.empty(BIG, np.float64)
    kept = {"variable": lambda: a, "view": lambda: a[::2], "tensor": lambda: tg.Tensor(a),
            "list": lambda: [a]}[holder]()
    where = address(a)
    del a
    b = buffers.empty(BIG, np.float64)
    assert address(b) != where
    assert kept is not None


def test_small_arrays_and_other_keys_are_not_shared():
    before = buffers.pooled_bytes()
    buffers.empty(SMALL, np.float64)
    assert buffers.pooled_bytes() == before          # below MIN_BYTES: plain np.empty
    a = buffers.empty(BIG, np.float64)
    where = address(a)
    del a
    assert address(buffers.empty(BIG, np.float32)) != where
    assert address(buffers.empty((BIG[0] * 2, BIG[1] // 2), np.float64)) != where


def test_what_a_user_does_to_a_view_does_not_reach_the_pooled_array():
    a = buffers.empty(BIG, np.float64)
    a.flags.writeable = False
    a.shape = (BIG[0] * BIG[1],)
    del a
    b = buffers.empty(BIG, np.float64)
    assert b.shape == BIG and b.flags.writeable
    b[...] = 1.0


def test_zeros_and_empty_like():
    a = buffers.empty(BIG, np.float64)
    a.fill(np.nan)
    del a
    z = buffers.zeros(BIG, np.float64)
    assert not z.any()
    like = buffers.empty_like(np.ones((BIG[1], BIG[0]), np.float32).T)
    assert like.shape == BIG and like.dtype == np.float32 and like.flags.c_contiguous


def test_the_byte_limit_drops_unused_arrays_first(monkeypatch):
    monkeypatch.setattr(buffers, "LIMIT_BYTES", 3 * 512 * 1024)
    held = [buffers.empty(BIG, np.float64) for _ in range(2)]
    unused = buffers.empty((128, 512), np.float64)
    del unused
    assert buffers.pooled_bytes() == 3 * 512 * 1024
    third = buffers.empty(BIG, np.float64)           # room made by dropping the unused one
    assert buffers.pooled_bytes() == 3 * 512 * 1024
    fourth = buffers.empty(BIG, np.float64)          # no room: a plain array, not pooled
    assert buffers.pooled_bytes() == 3 * 512 * 1024
    del fourth
    assert address(buffers.empty(BIG, np.float64)) not in {address(h) for h in held + [third]}


def test_at_most_max_per_key_arrays_of_one_key(monkeypatch):
    monkeypatch.setattr(buffers, "MAX_PER_KEY", 3)
    held = [buffers.empty(BIG, np.float64) for _ in range(5)]
    assert buffers.pooled_bytes() == 3 * 512 * 1024
    assert len({address(a) for a in held}) == 5


def test_clear_drops_only_what_nothing_holds():
    kept = buffers.empty(BIG, np.float64)
    dropped = buffers.empty(BIG, np.float64)
    del dropped
    buffers.clear()
    assert buffers.pooled_bytes() == 512 * 1024
    assert address(buffers.empty(BIG, np.float64)) != address(kept)


def test_without_readable_reference_counts_it_is_plain_numpy(monkeypatch):
    monkeypatch.setattr(buffers, "_HELD", None)
    a = buffers.empty(BIG, np.float64)
    assert a.base is None and buffers.pooled_bytes() == 0


def test_the_reference_count_is_found_and_tells_one_holder_apart():
    assert buffers._HELD is not None
    bucket = [np.empty(1)]
    assert buffers._free_index(bucket, buffers._HELD) == 0
    holder = bucket[0]
    assert buffers._free_index(bucket, buffers._HELD) == -1
    assert holder is bucket[0]


def test_threads_never_share_an_array():
    errors = []

    def work(mark):
        for _ in range(300):
            a = buffers.empty(BIG, np.float64)
            a.fill(mark)
            b = buffers.empty(BIG, np.float64)
            b.fill(-mark)
            if not (a == mark).all() or not (b == -mark).all():
                errors.append(mark)
            del a, b

    threads = [threading.Thread(target=work, args=(k + 1.0,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("dtypes", [(np.float64, np.float64), (np.float32, np.float32), (np.float32, np.float64)])
def test_dot_is_np_dot(dtypes):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 40)).astype(dtypes[0]), rng.standard_normal((40, 200)).astype(dtypes[1])
    np.testing.assert_array_equal(buffers.dot(a, b), np.dot(a, b))
    np.testing.assert_array_equal(buffers.dot(b.T, a.T), np.dot(b.T, a.T))
    assert buffers.dot(a, b).dtype == np.dot(a, b).dtype


def test_concatenate_is_np_concatenate():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((100, 7, 50)) for _ in range(3)]
    for axis in (0, 1, 2, -1):
        np.testing.assert_array_equal(buffers.concatenate(xs, axis), np.concatenate(xs, axis))
    mixed = [xs[0], xs[1].astype(np.float32)]
    assert buffers.concatenate(mixed, 0).dtype == np.float64
    with pytest.raises(ValueError):
        buffers.concatenate([xs[0], xs[1][:, :3]], axis=0)
    with pytest.raises(ValueError):
        buffers.concatenate([], axis=0)


# ------------------------------------------------------------------ training on reused memory
def poison_unused():
    """Fill every pooled float array that nothing holds with NaN: a read before a write shows."""
    for bucket in buffers._pool.values():
        for index in range(len(bucket)):
            if buffers._unused(bucket, index, buffers._HELD) and bucket[index].dtype.kind == "f":
                bucket[index].fill(np.nan)


def training_step_grads(cell, fused, bidirectional):
    tg.manual_seed(0)
    stack = {"lstm": tg.nn.LSTM, "gru": tg.nn.GRU, "rnn": tg.nn.RNN}[cell](
        24, 40, num_layers=2, bidirectional=bidirectional, fused=fused, dtype=np.float64)
    head = tg.nn.Linear(80 if bidirectional else 40, 24, dtype=np.float64)
    x = tg.Tensor(np.random.default_rng(1).standard_normal((30, 64, 24)), requires_grad=True)
    targets = np.random.default_rng(2).integers(0, 24, 30 * 64)
    out, _ = stack(x)
    loss = tg.cross_entropy(head(out.reshape(30 * 64, out.shape[2])), targets)
    loss.backward()
    params = list(stack.parameters()) + list(head.parameters())
    return [float(loss.data), x.grad.copy()] + [p.grad.copy() for p in params]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("fused", ["sequence", "step"])
def test_a_step_on_poisoned_reused_memory_equals_a_step_on_fresh_memory(cell, fused, monkeypatch):
    training_step_grads(cell, fused, True)               # fill the pool with this step's shapes
    poison_unused()
    assert buffers.pooled_bytes() > 0
    reused = training_step_grads(cell, fused, True)
    monkeypatch.setattr(buffers, "_HELD", None)
    fresh = training_step_grads(cell, fused, True)
    for a, b in zip(reused, fresh):
        np.testing.assert_array_equal(a, b)


PROBE = """
import resource
import numpy as np
import tinygrad_rnn as tg
lstm, head = tg.nn.LSTM(64, 128, dtype=np.float32), tg.nn.Linear(128, 64, dtype=np.float32)
x = tg.Tensor(np.random.default_rng(0).standard_normal((64, 32, 64)).astype(np.float32))
targets = np.random.default_rng(1).integers(0, 64, 64 * 32)
for step in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    lstm.zero_grad(); head.zero_grad()
    out, _ = lstm(x)
    tg.cross_entropy(head(out.reshape(64 * 32, 128)), targets).backward()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts the kernel's minor page faults")
def test_a_training_step_reuses_the_memory_of_the_last_one():
    """Without the pool this step (small LSTM, float32, glibc's default malloc) took about 2,000 faults."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    faults = [int(line) for line in done.stdout.split()]
    assert faults[0] > 500, faults                  # the first step maps its memory once
    assert max(faults[2:]) < 100, faults


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_inherit_a_held_lock():
    """A fork while another thread holds the pool's lock must not leave the child waiting for it forever."""
    with buffers._lock:                                 # as if another thread were inside empty() right now
        pid = os.fork()
        if pid == 0:                                    # the child: allocate, and report through the exit code
            try:
                buffers.empty(BIG, np.float64)
                os._exit(0)
            except BaseException:
                os._exit(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child waited for the parent's lock")
