"""The ``Function`` base class: one differentiable primitive, whose instance is the graph node.

A subclass implements ``forward(*arrays)`` on NumPy arrays, keeping on ``self`` exactly what
``backward`` reads, and ``backward(*grad_outputs)``, which returns one gradient per input
(None where an input needs none). ``apply`` runs the forward pass on tensors and, when a
gradient is wanted, links the outputs to the node so that ``Tensor.backward`` can walk it.
"""
import numpy as np

from .grad_mode import GradMode


class Function:
    """One primitive op; the instance is the context that backward reads.

    Attributes set by ``apply``: ``needs_input_grad`` (a bool per input; the empty tuple when
    no graph is recorded, so ``forward`` can skip saving what no backward will read) and
    ``parents`` (the input tensors).
    Multi-output functions return a tuple from ``forward``; their ``backward`` receives one
    gradient per output, None for an output that received no gradient.
    """

    parents = None
    needs_input_grad = ()
    n_outputs = 1
    grads_pending = None     # per-output gradient sums, filled during a backward pass
    output_hooks = None      # {output index: [hook, ...]} for register_hook on non-leaf tensors
    retained_outputs = None  # {output index: weakref to the tensor} for retain_grad
    fresh_grads = False      # True if backward returns new arrays that nothing else holds: a leaf may keep
                             # one as its .grad without the copy the engine makes otherwise
    released = False         # True once backward has run and ``release`` dropped what it kept

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run ``forward`` on the inputs' arrays; record a node if any input requires grad."""
        node = cls()
        arrays, needs = [], []
        for tensor in inputs:  # one plain loop: each list comprehension costs a function call on Python 3.11
            arrays.append(tensor.data)
            needs.append(tensor.requires_grad)
        requires_grad = GradMode.enabled and True in needs
        if requires_grad:
            node.needs_input_grad = tuple(needs)
        output = node.forward(*arrays, **kwargs)
        if requires_grad:
            node.parents = inputs
        else:
            node = None
        make = Tensor._make
        if type(output) is tuple:
            if node is not None:
                node.n_outputs = len(output)
            return tuple([make(array, requires_grad, node, index) for index, array in enumerate(output)])
        if type(output) is not np.ndarray:  # NumPy gives scalars for 0-d results; keep arrays
            output = np.asarray(output)
        return make(output, requires_grad, node, 0)

    def release(self):
        """Drop everything the backward pass kept, so its memory is freed at once."""
        self.__dict__.clear()
        self.released = True


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes NumPy broadcasting added or stretched, giving ``shape``.

    The adjoint of broadcasting: if y = broadcast(x) then dL/dx = unbroadcast(dL/dy, x.shape).

    >>> unbroadcast(np.ones((2, 3)), (3,)).tolist()
    [2.0, 2.0, 2.0]
    >>> unbroadcast(np.ones((2, 3)), (2, 1)).tolist()
    [[3.0], [3.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


from .tensor import Tensor  # noqa: E402  (tensor.py imports the ops, which import this module)
