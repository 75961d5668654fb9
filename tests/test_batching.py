"""TBPTT batcher: stream layout, shifted targets, continuity across windows, epochs, resume."""

import json

import numpy as np
import pytest

from tinygrad_rnn.data.batching import TBPTTBatcher


def test_windows_follow_contiguous_streams():
    ids = np.arange(103)               # B=4 -> L=25 per stream, 3 tokens dropped
    b = TBPTTBatcher(ids, batch_size=4, seq_len=5)
    assert len(b) == 4                  # (25 - 1) // 5
    windows = list(b)
    assert len(windows) == 4
    for k, (x, y) in enumerate(windows):
        assert x.shape == y.shape == (5, 4) and x.dtype == y.dtype == np.int64
        for col in range(4):
            start = col * 25 + k * 5
            assert x[:, col].tolist() == list(range(start, start + 5))
            assert y[:, col].tolist() == list(range(start + 1, start + 6))
    # hidden state carry: window k+1 starts where window k's targets leave off, in every stream
    for (x0, y0), (x1, _) in zip(windows, windows[1:]):
        np.testing.assert_array_equal(x1[0], y0[-1])


def test_every_target_is_the_next_token_of_the_text():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=997)
    b = TBPTTBatcher(ids, batch_size=3, seq_len=7)
    L = 997 // 3
    for x, y in b:
        for col in range(3):
            stream = ids[col * L:(col + 1) * L]
            # locate the window in its stream and check input/target pairs against the raw ids
            starts = [s for s in range(L - 7) if np.array_equal(stream[s:s + 7], x[:, col])]
            assert any(np.array_equal(stream[s + 1:s + 8], y[:, col]) for s in starts)


def test_epochs_and_state_dict_resume_exactly():
    ids = np.arange(200)
    ref = TBPTTBatcher(ids, 2, 9)
    n = len(ref)
    full = [w for _ in range(3) for w in ref]           # three epochs
    assert ref.epoch == 3 and ref.position == 0
    run = TBPTTBatcher(ids, 2, 9)
    seen = []
    for i, w in enumerate(run):
        seen.append(w)
        if i == 2:
            state = json.loads(json.dumps(run.state_dict()))
            break
    assert state["epoch"] == 0 and state["position"] == 3
    resumed = TBPTTBatcher(ids, 2, 9)
    resumed.load_state_dict(state)
    while len(seen) < 3 * n:
        seen.extend(resumed)
    assert len(seen) == len(full)
    for (x, y), (xr, yr) in zip(seen, full):
        np.testing.assert_array_equal(x, xr)
        np.testing.assert_array_equal(y, yr)
    assert resumed.epoch == 3


def test_state_after_last_window_points_to_next_epoch():
    b = TBPTTBatcher(np.arange(50), 2, 4)
    it = iter(b)
    for _ in range(len(b)):
        next(it)
    assert b.state_dict()["epoch"] == 1 and b.state_dict()["position"] == 0


def test_minimum_data_and_errors():
    b = TBPTTBatcher(np.arange(12), batch_size=3, seq_len=3)   # exactly B * (T + 1)
    assert len(b) == 1
    with pytest.raises(ValueError, match=r"expected at least batch_size \* \(seq_len \+ 1\) = 3 \* \(3 \+ 1\) "
                                         r"= 12 tokens for one window, got 11 tokens"):
        TBPTTBatcher(np.arange(11), batch_size=3, seq_len=3)
    with pytest.raises(ValueError, match="expected batch_size >= 1, got 0"):
        TBPTTBatcher(np.arange(11), batch_size=0, seq_len=3)
    with pytest.raises(TypeError, match="expected int seq_len, got float"):
        TBPTTBatcher(np.arange(11), batch_size=1, seq_len=3.0)
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        TBPTTBatcher(np.ones(20), batch_size=1, seq_len=3)
    with pytest.raises(ValueError, match="expected seq_len=3 as this batcher has, got seq_len=4"):
        b.load_state_dict({**b.state_dict(), "seq_len": 4})
    with pytest.raises(ValueError, match=r"expected an int position in \[0, 1\), got 5"):
        b.load_state_dict({**b.state_dict(), "position": 5})
