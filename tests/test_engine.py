"""The backward pass: iterative walk, accumulation, fan-out, graph freeing, hooks, and the docstring examples."""
import doctest
import importlib
import pkgutil
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.autograd
from tinygrad_rnn import Tensor
from tinygrad_rnn.autograd.engine import ready_order, topological_order


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def test_deep_chain_backpropagates_without_recursion():
    n = 100_000
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(n):
        y = -y             # one node per step
    assert n > 10 * sys.getrecursionlimit()
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])   # (-1)^100000


def test_deep_chain_of_multiplications_has_the_product_gradient():
    x = leaf(1.0)
    y = x
    for _ in range(2000):
        y = y * 1.001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.001 ** 2000, rtol=1e-10)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, -2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 - 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 3])


def test_fan_out_sums_every_use():
    x = leaf([2.0, 3.0])
    y = x * x * x + x      # dy/dx = 3x^2 + 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [13.0, 28.0])


def test_diamond_graph_sums_both_paths_at_the_inner_node():
    x = leaf([0.5])
    h = x.tanh()
    y = h * 2 + h.exp()     # h used twice; x only once, through h
    y.sum().backward()
    t = np.tanh(0.5)
    np.testing.assert_allclose(x.grad, [(2 + np.exp(t)) * (1 - t * t)], rtol=1e-12)


def test_shared_weight_over_time_steps_like_an_rnn():
    w = leaf([[0.5]])
    h = Tensor(np.array([[1.0]]))
    for _ in range(3):
        h = h @ w          # h_3 = w^3
    h.sum().backward()
    np.testing.assert_allclose(w.grad, [[3 * 0.5 ** 2]])


def test_topological_order_lists_each_node_after_its_inputs():
    x = leaf([1.0])
    a = x * 2
    b = a + x
    c = a * b
    order = topological_order(c.grad_fn)
    assert len(order) == 3 and order[-1] is c.grad_fn
    position = {id(node): i for i, node in enumerate(order)}
    assert position[id(a.grad_fn)] < position[id(b.grad_fn)] < position[id(c.grad_fn)]


def test_backward_runs_the_nodes_in_ready_order():
    ran = []

    class Recorded(tg.Function):         # y = x1 + x2 + ...; notes when its backward runs
        def forward(self, *xs):
            return sum(xs[1:], xs[0].copy())

        def backward(self, g):
            ran.append(self)
            return tuple(g.copy() for _ in self.parents)

    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    a = Recorded.apply(x, w)
    b, c = Recorded.apply(a), Recorded.apply(a, w)       # fan-out from a, and w used twice
    loss = Recorded.apply(Recorded.apply(b, c), a).sum()
    schedule = [node for node in ready_order(loss.grad_fn) if isinstance(node, Recorded)]
    loss.backward()
    assert len(ran) == 5 and ran == schedule


def test_graph_is_freed_after_backward_and_second_backward_is_a_clear_error():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()
    y.backward()
    assert getattr(h.grad_fn, "released", False)
    assert not hasattr(h.grad_fn, "out")       # what backward kept is dropped
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="already freed"):
        (h * 2).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)
    np.testing.assert_allclose(first, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_backward_on_non_scalar_needs_grad():
    x = leaf([1.0, 2.0])
    y = x * 3
    with pytest.raises(RuntimeError, match=r"one-element tensor, got shape \(2,\)"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])
    with pytest.raises(ValueError, match=r"backward: expected grad of shape \(2,\), got \(3,\)"):
        (x * 3).backward(np.ones(3))
    with pytest.raises(TypeError, match="backward: expected grad of dtype float64, got float32"):
        (x * 3).backward(Tensor(np.ones(2, dtype=np.float32)))


def test_backward_of_one_element_non_scalar_and_of_a_leaf():
    x = leaf([[2.0]])
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [[4.0]])
    z = leaf([1.0, 2.0])
    z.backward(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(z.grad, [5.0, 6.0])


def test_backward_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_no_grad_records_nothing_and_enable_grad_inside_restores():
    x = leaf([1.0])
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None

    @tg.no_grad()
    def evaluate(t):
        return t * 2
    assert not evaluate(x).requires_grad and tg.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()


def test_constants_get_no_grad_and_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0], dtype=np.float64)
    d = (x * 2).detach()
    assert d.is_leaf and not d.requires_grad
    (x * c + d * x).sum().backward()
    assert c.grad is None and d.grad is None
    np.testing.assert_array_equal(x.grad, [3 + 2, 4 + 4])


def test_only_inputs_requiring_grad_get_grad():
    a, b = leaf([1.0]), Tensor(np.array([2.0]))
    out = a * b
    assert out.grad_fn.needs_input_grad == (True, False)
    out.sum().backward()
    assert b.grad is None


def test_retain_grad_keeps_non_leaf_gradients():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    other = x * 5
    (h * h + other).sum().backward()
    np.testing.assert_array_equal(h.grad, [6.0, 12.0])
    assert other.grad is None
    np.testing.assert_array_equal(x.grad, [18 + 5, 36 + 5])


def test_register_hook_on_non_leaf_sees_summed_gradient_and_may_replace_it():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))
    h.register_hook(lambda g: g * 10)
    (h * 2 + h * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])      # both uses summed before the hook
    np.testing.assert_array_equal(x.grad, [50.0, 50.0])     # the replacement flows on


def test_register_hook_on_leaf_replaces_what_reaches_grad():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.zeros_like(g.data) + 7.0)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [7.0, 7.0])
    y = leaf([1.0])
    seen = []
    y.register_hook(lambda g: seen.append(g.item()))
    (y * 4 + y).sum().backward()
    assert seen == [5.0] and y.grad.tolist() == [5.0]


def test_hook_returning_the_wrong_shape_is_an_error():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match=r"register_hook: the hook returned shape \(3,\)"):
        (x * 2).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(print)


def test_multi_output_node_receives_each_output_gradient():
    x = leaf(np.arange(4.0))
    a, b = x.split(2)
    (a * b).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0, 0.0, 1.0])


def test_wrong_gradient_shape_from_a_function_names_it():
    class BadShape(tg.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g[:1]

    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"BadShape.backward: gradient for input 0 has shape \(1,\)"):
        BadShape.apply(x).sum().backward()


def test_wrong_gradient_dtype_for_a_later_input_names_that_input():
    class BadDtype(tg.Function):
        def forward(self, x, y):
            return x * y

        def backward(self, g):
            return g, g.astype(np.float32)

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(RuntimeError, match=r"BadDtype.backward: gradient for input 1 has shape \(2,\) and dtype "
                                           r"float32, expected shape \(2,\) and dtype float64"):
        BadDtype.apply(x, y).sum().backward()
    assert x.grad is None and y.grad is None       # nothing reached a leaf


def test_function_backward_may_return_none_for_inputs_without_grad():
    class Scale(tg.Function):
        def forward(self, x, s):
            self.s = s
            return x * s

        def backward(self, g):
            return g * self.s, None

    x, s = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    Scale.apply(x, s).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_a_node_that_receives_no_gradient_still_releases_its_inputs_to_run():
    class Block(tg.Function):           # passes values on but sends no gradient back
        def forward(self, x):
            return x.copy()

        def backward(self, g):
            return None

    x = leaf([1.0, 2.0])
    p = x * 2.0
    q = p * 3.0                          # its only consumer, Block, sends it nothing: q's node gets no gradient
    loss = Block.apply(q).sum() + (p * 4.0).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0])   # p's node ran all the same: d(4 * 2x)/dx



def test_a_leaf_keeps_a_fresh_gradient_and_copies_any_other():
    """A leaf's .grad is never an array someone else holds; a node declaring fresh_grads hands its own over."""
    class Pass(tg.Function):            # returns the very array it received: the engine must copy it
        def forward(self, x):
            return x.copy()

        def backward(self, g):
            return g

    handed = []

    class Fresh(Pass):
        fresh_grads = True

        def backward(self, g):
            handed.append(g * 2.0)
            return handed[-1]

    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    Pass.apply(x).backward(seed)
    assert not np.shares_memory(x.grad, seed)
    x.grad[0] = 99.0
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    Fresh.apply(y).backward(seed)
    assert y.grad is handed[0]                       # kept, not copied
    np.testing.assert_array_equal(y.grad, [2.0, 2.0])
    Fresh.apply(y).backward(seed)                    # a second pass adds into the leaf's own array
    assert y.grad is handed[0] and y.grad is not handed[1]
    np.testing.assert_array_equal(y.grad, [4.0, 4.0])

def autograd_modules():
    names = ["tinygrad_rnn"]
    package = tinygrad_rnn.autograd
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        names.append(info.name)
    return [package.__name__] + sorted(names)


def test_docstring_examples_run():
    modules = autograd_modules()
    assert "tinygrad_rnn.autograd.tensor" in modules and "tinygrad_rnn.autograd.ops.elementwise" in modules
    attempted = 0
    for name in modules:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, f"doctest failures in {name}"
        attempted += result.attempted
    assert attempted >= 20
    assert tg.get_default_dtype() == np.float32
