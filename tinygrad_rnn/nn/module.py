"""``Module`` and ``Parameter``: named, nested collections of trainable tensors."""
import numpy as np

from ..autograd import Tensor
from ..autograd.dtypes import FLOAT_DTYPES


class Parameter(Tensor):
    """A leaf tensor that a ``Module`` registers as trainable (requires_grad=True by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers: registers Parameters and sub-Modules assigned as attributes.

    Names are dotted paths, as PyTorch's (``encoder.weight_ih_l0``), so state dicts line up.

    >>> import tinygrad_rnn as tg
    >>> lin = tg.nn.Linear(3, 2)
    >>> [name for name, _ in lin.named_parameters()]
    ['weight', 'bias']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, depth first."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [(f"{name}.{child}" if name else child, m) for child, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self):
        return (module for _, module in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix=""):
        """(dotted name, Parameter) for every parameter, in registration order."""
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self):
        return [param for _, param in self.named_parameters()]

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """{dotted name: copy of the parameter's array}."""
        return {name: param.data.copy() for name, param in self.named_parameters()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays (or Tensors, or anything ``np.asarray`` takes) into the parameters, in place.

        Values are cast to each parameter's dtype. With ``strict``, missing and unexpected names
        are errors; a wrong shape or a NaN/inf value always is. All problems are reported in one
        ValueError, before any parameter is changed.
        Returns (missing, unexpected) name lists.
        """
        params = dict(self.named_parameters())
        values = {}
        problems, wrong_shapes, not_finite = [], [], []
        for name, value in state_dict.items():
            if name not in params:
                continue
            if isinstance(value, Tensor):
                value = value.data
            elif hasattr(value, "detach"):  # a torch.Tensor, possibly requiring grad
                value = value.detach().cpu().numpy()
            array = np.asarray(value)
            if array.shape != params[name].shape:
                wrong_shapes.append(f"{name}: expected shape {params[name].shape}, got {array.shape}")
            elif not np.all(np.isfinite(array)):
                not_finite.append(name)
            else:
                values[name] = array
        missing = [name for name in params if name not in state_dict]
        unexpected = [name for name in state_dict if name not in params]
        if strict and missing:
            problems.append("missing: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(unexpected))
        if wrong_shapes:
            problems.append("wrong shape: " + "; ".join(wrong_shapes))
        if not_finite:
            problems.append("NaN or inf in: " + ", ".join(not_finite))
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        for name, array in values.items():
            params[name].data[...] = array
        return missing, unexpected

    # ------------------------------------------------------------------ modes and dtypes
    def train(self, mode=True):
        """Set training mode (dropout active) on this module and its descendants."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (dropout off)."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad``."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    def to(self, dtype):
        """Convert every parameter to float32 or float64 (in place on the Parameter objects)."""
        dtype = np.dtype(dtype)
        if dtype not in FLOAT_DTYPES:
            raise TypeError(f"{type(self).__name__}.to: expected float32 or float64, got {dtype}")
        for param in self.parameters():
            if param.data.dtype != dtype:
                param.data = param.data.astype(dtype)
                param.grad = None
        for module in self.modules():
            if "dtype" in module.__dict__:
                object.__setattr__(module, "dtype", dtype)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, module in self._modules.items():
                child = repr(module).replace("\n", "\n  ")
                lines.append(f"  ({name}): {child}")
            return "\n".join(lines) + "\n)"
        return lines[0] + ")"
