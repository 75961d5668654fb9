"""The backward pass: walk the graph of ``Function`` nodes from the loss back to the leaves.

The walk is iterative (an explicit stack), so a graph of a 100,000-step chain needs no
recursion. Gradients flowing into the same tensor from several consumers are summed, which
is what makes fan-out (a weight used at every time step) correct with no special code.
"""

import numpy as np


def consumer_counts(root_node):
    """For every Function node reachable from ``root_node``: how many graph edges consume its outputs.

    A node may run its backward once that many gradients have arrived; the walk is iterative
    (an explicit stack), so depth is not limited by Python's recursion limit.
    """
    counts = {root_node: 0}
    stack = [root_node]
    while stack:
        node = stack.pop()
        if node.released:
            raise RuntimeError(
                f"backward: the graph through {type(node).__name__} was already freed by an earlier "
                "backward(); call backward(retain_graph=True) the first time to backward twice")
        for parent in node.parents:
            parent_node = parent._node
            if parent_node is None or not parent.requires_grad:
                continue
            if parent_node in counts:
                counts[parent_node] += 1
            else:
                counts[parent_node] = 1
                stack.append(parent_node)
    return counts


def ready_order(root_node):
    """Yield nodes so that each comes after all its consumers, as soon as the last one is done.

    Running a node as early as possible lets the gradients it waited for be freed early: a weight
    used at every time step then holds one pending gradient, not one per step. ``run_backward`` runs
    this same schedule written into its own loop (a test checks the two orders agree).
    """
    remaining = consumer_counts(root_node)
    ready = [root_node]
    while ready:
        node = ready.pop()
        parents = node.parents  # read before the caller releases the node
        yield node
        for parent in parents:
            parent_node = parent._node
            if parent_node is None or not parent.requires_grad:
                continue
            remaining[parent_node] -= 1
            if remaining[parent_node] == 0:
                ready.append(parent_node)


def topological_order(root_node):
    """Function nodes reachable from ``root_node``, each listed after the nodes that feed it
    (the order a forward pass could have run them in; handy for inspecting a graph)."""
    order = list(ready_order(root_node))
    order.reverse()
    return order


def _raise_bad_grad(node, index, parent, grad):
    """Report a backward that returned a gradient not matching its input's shape and dtype."""
    raise RuntimeError(
        f"{type(node).__name__}.backward: gradient for input {index} has shape {grad.shape} and "
        f"dtype {grad.dtype}, expected shape {parent.data.shape} and dtype {parent.data.dtype}")


def _run_hooks(hooks, grad):
    """Apply tensor hooks in order; a hook may return a replacement gradient."""
    from .tensor import Tensor as tensor_cls  # here, not in every backward pass: the import costs microseconds
    for hook in hooks:
        result = hook(tensor_cls(grad))
        if result is not None:
            replacement = result.data if isinstance(result, tensor_cls) else np.asarray(result)
            if replacement.shape != grad.shape or replacement.dtype != grad.dtype:
                raise RuntimeError(
                    f"register_hook: the hook returned shape {replacement.shape} dtype "
                    f"{replacement.dtype}, expected shape {grad.shape} dtype {grad.dtype}")
            grad = replacement
    return grad


def run_backward(root, grad, retain_graph):
    """Accumulate d(root)/d(leaf) * grad into ``.grad`` of every leaf that requires grad.

    Nodes run in ``ready_order``'s schedule, written out here so that the same pass over a node's inputs
    both delivers their gradients and counts down their consumers (this loop is the engine's whole cost
    per node, paid at every training step).
    """
    # id(leaf) -> [leaf, summed grad, whether that array is ours: a sum this pass made, or a node's fresh_grads]
    leaf_grads = {}
    root_node = root._node
    if root_node is None:
        leaf_grads[id(root)] = [root, grad, False]
        ready = []
    else:
        remaining = consumer_counts(root_node)
        root_node.grads_pending = [None] * root_node.n_outputs
        root_node.grads_pending[root._index] = grad
        ready = [root_node]

    while ready:
        node = ready.pop()
        parents = node.parents  # read before the node is released
        grad_outputs = node.grads_pending
        grads = None
        if grad_outputs is not None:  # None: every consumer's gradient for it was None; it only passes the count on
            node.grads_pending = None
            if node.output_hooks:
                for index, hooks in node.output_hooks.items():
                    if grad_outputs[index] is not None:
                        grad_outputs[index] = _run_hooks(hooks, grad_outputs[index])
            if node.retained_outputs:
                for index, ref in node.retained_outputs.items():
                    tensor = ref()
                    if tensor is not None and grad_outputs[index] is not None:
                        g = grad_outputs[index]
                        tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
            grads = node.backward(*grad_outputs)
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != len(parents):
                raise RuntimeError(f"{type(node).__name__}.backward returned {len(grads)} gradients "
                                   f"for {len(parents)} inputs")
            needs, fresh = node.needs_input_grad, node.fresh_grads
        for index, parent in enumerate(parents):
            parent_node = parent._node
            g = None if grads is None else grads[index]
            if g is not None and needs[index]:
                if g.shape != parent.data.shape or g.dtype != parent.data.dtype:
                    _raise_bad_grad(node, index, parent, g)
                if parent_node is None:
                    entry = leaf_grads.get(id(parent))
                    if entry is None:
                        leaf_grads[id(parent)] = [parent, g, fresh]
                    elif entry[2]:
                        entry[1] += g  # the sum is an array this pass made, so adding in place is safe
                    else:
                        entry[1] = entry[1] + g
                        entry[2] = True
                else:
                    pending = parent_node.grads_pending
                    if pending is None:
                        pending = parent_node.grads_pending = [None] * parent_node.n_outputs
                    slot = parent._index
                    pending[slot] = g if pending[slot] is None else pending[slot] + g
            if parent_node is not None and parent.requires_grad:
                remaining[parent_node] -= 1
                if remaining[parent_node] == 0:
                    ready.append(parent_node)
        if grads is not None and not retain_graph:
            node.release()

    for leaf, grad, owned in leaf_grads.values():
        if leaf._hooks:
            grad = _run_hooks(leaf._hooks, grad)
        if leaf.grad is None:
            leaf.grad = np.asarray(grad) if owned else np.array(grad)
        else:
            leaf.grad += grad
