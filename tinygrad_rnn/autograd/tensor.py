"""``Tensor``: an ndarray that remembers the op that made it, so gradients can flow back.

A tensor made by an op that had an input requiring grad keeps a reference to that op's
graph node (``_node``, a ``Function``) and to which of the node's outputs it is (``_index``).
Leaves (tensors made by the user, parameters) have no node; their ``.grad`` receives the
gradient sums of ``backward()``.
"""
import weakref

import numpy as np

from .dtypes import is_float, to_array
from .engine import run_backward


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python scalars and lists become the
    default float dtype (float32); NumPy arrays keep their dtype and are not copied.

    >>> import tinygrad_rnn as tg
    >>> x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()          # y = sum_i x_i^2
    >>> y.backward()
    >>> x.grad.tolist()            # dy/dx = 2x
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_index", "_hooks", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = to_array(data, dtype)
        self.grad = None
        self._node = None
        self._index = 0
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, requires_grad, node, index):
        """Fast constructor used by ops (no conversion or checks)."""
        tensor = object.__new__(Tensor)
        tensor.data = data
        tensor.grad = None
        tensor.requires_grad = requires_grad
        tensor._node = node
        tensor._index = index
        tensor._hooks = None
        return tensor

    # ------------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (their ``.grad`` is filled by backward)."""
        return self._node is None

    @property
    def grad_fn(self):
        """The graph node (a ``Function``) that produced this tensor, or None for a leaf."""
        return self._node

    @property
    def T(self):
        """The transpose (all axes reversed)."""
        return self.transpose()

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, threshold=20, prefix="Tensor(")
        extra = f", dtype={self.data.dtype}"
        if self._node is not None:
            extra += f", grad_fn={type(self._node).__name__}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: expected a tensor with one element, got shape {self.data.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph (no gradient flows back)."""
        return Tensor._make(self.data, False, None, 0)

    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as wanting ``.grad`` (in place); only float32/float64 tensors can."""
        if requires_grad and not is_float(self.data.dtype):
            raise TypeError(f"requires_grad: only float32 or float64 tensors can require grad, "
                            f"got dtype {self.data.dtype}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_: cannot turn off grad on a non-leaf tensor; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype):
        """This tensor in another float dtype (differentiable; the gradient is cast back)."""
        from .ops.movement import Cast
        if np.dtype(dtype) == self.data.dtype:
            return self
        return Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf it depends on.

        ``grad`` is dL/d(self); it may be omitted only for a one-element tensor (then 1).
        The graph is freed as it is walked unless ``retain_graph=True``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph "
                               "(did an input have requires_grad=True, and was no_grad() off?)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be omitted only for a one-element tensor, "
                                   f"got shape {self.data.shape}; pass grad= of that shape")
            grad = np.empty(self.data.shape, self.data.dtype)
            grad.fill(1)                   # np.ones is Python around these two calls: 1-2 us per backward
        else:
            grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=self.data.dtype)
            if grad.dtype != self.data.dtype:
                raise TypeError(f"backward: expected grad of dtype {self.data.dtype}, got {grad.dtype}")
            if grad.shape != self.data.shape:
                raise ValueError(f"backward: expected grad of shape {self.data.shape}, got {grad.shape}")
        run_backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self._node is None:
            return
        if self._node.retained_outputs is None:
            self._node.retained_outputs = {}
        self._node.retained_outputs[self._index] = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` with the gradient flowing into this tensor during backward.

        The hook sees a Tensor holding dL/d(self) (summed over every use) and may return a
        replacement gradient of the same shape, or None to leave it unchanged.

        >>> import tinygrad_rnn as tg
        >>> x = tg.Tensor([1.0, 2.0], requires_grad=True)
        >>> h = x * 3
        >>> seen = []
        >>> h.register_hook(lambda g: seen.append(g.tolist()))
        >>> h.sum().backward(); seen
        [[1.0, 1.0]]
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad, no gradient will flow")
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
        else:
            if self._node.output_hooks is None:
                self._node.output_hooks = {}
            self._node.output_hooks.setdefault(self._index, []).append(hook)

    # ------------------------------------------------------------------ arithmetic
    def _lift(self, other, op):
        """``other`` as a tensor of this tensor's float dtype (scalars never upcast float32)."""
        if isinstance(other, Tensor):
            if other.data.dtype != self.data.dtype:
                if is_float(other.data.dtype) and is_float(self.data.dtype):
                    raise TypeError(f"{op}: dtype mismatch, {self.data.dtype} and {other.data.dtype}; "
                                    "convert one side with .float() or .double()")
                if is_float(self.data.dtype):
                    return Tensor._make(other.data.astype(self.data.dtype), False, None, 0)
            return other
        array = np.asarray(other)
        if array.dtype != self.data.dtype and is_float(self.data.dtype):
            if is_float(array.dtype) and array.ndim > 0:
                raise TypeError(f"{op}: dtype mismatch, tensor is {self.data.dtype}, array is {array.dtype}")
            array = array.astype(self.data.dtype)
        return Tensor._make(array, False, None, 0)

    def _pair(self, other, op):
        """(self, other) as operands of one dtype: a float side sets it for an integer/bool side."""
        other = self._lift(other, op)
        if is_float(other.data.dtype) and not is_float(self.data.dtype):
            return Tensor._make(self.data.astype(other.data.dtype), False, None, 0), other
        return self, other

    def __add__(self, other):
        return E.Add.apply(*self._pair(other, "add"))

    def __radd__(self, other):
        return E.Add.apply(*reversed(self._pair(other, "add")))

    def __sub__(self, other):
        return E.Sub.apply(*self._pair(other, "sub"))

    def __rsub__(self, other):
        return E.Sub.apply(*reversed(self._pair(other, "sub")))

    def __mul__(self, other):
        return E.Mul.apply(*self._pair(other, "mul"))

    def __rmul__(self, other):
        return E.Mul.apply(*reversed(self._pair(other, "mul")))

    def __truediv__(self, other):
        return E.Div.apply(*self._pair(other, "div"))

    def __rtruediv__(self, other):
        return E.Div.apply(*reversed(self._pair(other, "div")))

    def __pow__(self, exponent):
        return E.Pow.apply(*self._pair(exponent, "pow"))

    def __rpow__(self, base):
        return E.Pow.apply(*reversed(self._pair(base, "pow")))

    def __neg__(self):
        return E.Neg.apply(self)

    def __matmul__(self, other):
        return M.MatMul.apply(*self._pair(other, "matmul"))

    def __rmatmul__(self, other):
        return M.MatMul.apply(*reversed(self._pair(other, "matmul")))

    # comparisons give boolean tensors outside the graph
    def __lt__(self, other):
        return Tensor(self.data < _raw(other))

    def __le__(self, other):
        return Tensor(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor(self.data >= _raw(other))

    # ------------------------------------------------------------------ elementwise
    def exp(self):
        return E.Exp.apply(self)

    def log(self):
        return E.Log.apply(self)

    def tanh(self):
        return E.Tanh.apply(self)

    def sigmoid(self):
        return E.Sigmoid.apply(self)

    def relu(self):
        return E.Relu.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return E.LeakyRelu.apply(self, negative_slope=negative_slope)

    def elu(self, alpha=1.0):
        return E.Elu.apply(self, alpha=alpha)

    def clip(self, min=None, max=None):
        """Clamp values into [min, max]; the gradient passes where min <= x <= max."""
        return E.Clip.apply(self, low=min, high=max)

    clamp = clip

    def sqrt(self):
        return self ** 0.5

    # ------------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        return R.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return R.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return R.Max.apply(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1):
        return N.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return N.LogSoftmax.apply(self, axis=axis)

    # ------------------------------------------------------------------ movement
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return V.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self):
        return self.reshape(-1)

    def unsqueeze(self, axis):
        return self.reshape(np.expand_dims(self.data, axis).shape)

    def squeeze(self, axis=None):
        return self.reshape(np.squeeze(self.data, axis).shape)

    def transpose(self, *axes):
        """Permute axes (``transpose()`` reverses them; ``transpose(0, 1)`` swaps two, as PyTorch)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2:
            order = list(range(self.data.ndim))
            order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
            axes = tuple(order)
        return V.Permute.apply(self, axes=axes or None)

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return V.Permute.apply(self, axes=axes)

    def __getitem__(self, index):
        return V.GetItem.apply(self, index=_raw_index(index))

    def split(self, split_size_or_sections, axis=0):
        """Split along ``axis`` into pieces of ``split_size`` (last may be shorter) or of the listed sizes."""
        return V.split(self, split_size_or_sections, axis)

    def chunk(self, chunks, axis=0):
        """Split into ``chunks`` pieces of equal size (the last may be smaller), as torch.chunk."""
        size = -(-self.data.shape[axis] // chunks)
        return V.split(self, size, axis)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


from .ops import elementwise as E  # noqa: E402  (ops import Tensor from this module)
from .ops import matmul as M  # noqa: E402
from .ops import movement as V  # noqa: E402
from .ops import nn_ops as N  # noqa: E402
from .ops import reduce as R  # noqa: E402
