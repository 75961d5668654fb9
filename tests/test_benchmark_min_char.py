"""benchmarks/min_char_rnn_speed.py's contenders train the model they claim to.

``--bare`` reports the framework's cost as the gap between tinygrad_rnn and the same arithmetic called
directly, and ``--nodes`` splits it at the graph's nodes called by hand; those readings hold only if the
contenders compute the same thing, window after window.
"""
import itertools

import numpy as np
import pytest
from benchmark_modules import load_benchmark

from tinygrad_rnn import kernels


@pytest.fixture
def bench(monkeypatch):
    return load_benchmark("min_char_rnn_speed", monkeypatch)


HAMLET = "to be or not to be, that is the question. " * 40


def _walk(bench, text, windows=100):
    """(vocabulary size, the first ``windows`` windows of ``text``, which restart the walk at least twice)."""
    vocab, ids = bench.encode(text)
    walk = list(itertools.islice(bench.windows(ids), windows))
    assert sum(reset for _, _, reset in walk) >= 2
    return vocab, walk


def test_graph_nodes_called_by_hand_train_exactly_what_the_engine_trains(bench):
    vocab, walk = _walk(bench, HAMLET)
    ours, nodes = bench.Ours(vocab, np.float64), bench.GraphNodes(vocab, np.float64)
    for inputs, targets, reset in walk:
        assert nodes.step(inputs, targets, reset) == ours.step(inputs, targets, reset)  # the same code, bit for bit
    for ours_param, nodes_param in zip(ours.params, nodes.params):
        np.testing.assert_array_equal(nodes_param.data, ours_param.data)
    first = bench.initial_weights(vocab, np.float64)["w_hh"]
    assert not np.allclose(nodes.params[1].data, first)           # both really trained


def test_graph_nodes_contender_calls_the_nodes_the_engine_walks(bench, monkeypatch):
    from tinygrad_rnn.autograd import engine, tensor
    walked = []

    def recording(root, grad, retain_graph):
        walked.extend(type(node) for node in engine.topological_order(root._node))
        engine.run_backward(root, grad, retain_graph)

    monkeypatch.setattr(tensor, "run_backward", recording)
    vocab, walk = _walk(bench, HAMLET)
    bench.Ours(vocab, np.float64).step(*walk[0])
    called = bench.GraphNodes(vocab, np.float64).nodes
    assert [cls.__name__ for cls in walked] == ["Linear", "RNNSequence", "Reshape", "Linear", "CrossEntropy"]
    assert {cls for cls in walked if cls.__name__ != "Reshape"} == set(called)     # the reshape is a view there


@pytest.mark.skipif(not kernels.jit_enabled(), reason="without numba the layer runs its BLAS time loop, "
                    "not the compiled one the bare contender calls")
def test_bare_kernels_train_exactly_what_the_framework_trains(bench):
    vocab, walk = _walk(bench, "the cat sat on the mat; the dog sat on the log. " * 40)
    ours, bare = bench.Ours(vocab, np.float64), bench.BareKernels(vocab, np.float64)
    for inputs, targets, reset in walk:
        assert bare.step(inputs, targets, reset) == pytest.approx(ours.step(inputs, targets, reset), rel=1e-12)
    for ours_param, bare_param in zip(ours.params, bare.params):
        np.testing.assert_allclose(ours_param.data, bare_param, rtol=1e-12, atol=1e-15)
    first = bench.initial_weights(vocab, np.float64)["w_hh"]
    assert not np.allclose(bare.params[1], first)                # both really trained
