"""Finite-difference gradient checking, the proof behind every backward in the library."""
import numpy as np

from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagreed with the finite-difference one."""


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, (tuple, list)) else (out,)


def _flat_tensors(outputs):
    """Tensors in ``outputs``, flattening nested tuples (e.g. LSTM's (h, c))."""
    flat = []
    for out in outputs:
        if isinstance(out, (tuple, list)):
            flat.extend(_flat_tensors(out))
        elif isinstance(out, Tensor):
            flat.append(out)
    return flat


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast=False, seed=0):
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    The outputs are reduced to one number with fixed random weights R, L = sum_k <out_k, R_k>,
    so every output element is checked. For each float64 input x that requires grad:
        numeric_i = (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),   analytic = dL/dx from backward,
    and |analytic - numeric| <= atol + rtol |numeric| must hold element by element.
    ``fast=True`` checks one random direction v per input instead (the directional derivative
    <dL/dx, v>), costing two evaluations per input rather than two per element.

    Returns True, or raises ``GradcheckError`` naming the input, the element, and both values.

    >>> import numpy as np, tinygrad_rnn as tg
    >>> x = tg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> tg.gradcheck(lambda x: (x * x).tanh(), [x])
    True
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64")
    rng = np.random.default_rng(seed)

    with enable_grad():
        outputs = _flat_tensors(_outputs(fn, inputs))
        weights = [rng.standard_normal(out.shape) for out in outputs]

    def objective():
        with no_grad():
            total = 0.0
            for out, w in zip(_flat_tensors(_outputs(fn, inputs)), weights):
                total += float(np.sum(out.data * w))
        return total

    with enable_grad():
        for i in checked:
            inputs[i].grad = None
        loss = None
        for out, w in zip(outputs, weights):
            if out.requires_grad:
                term = (out * Tensor(w)).sum()
                loss = term if loss is None else loss + term
        if loss is None:
            raise GradcheckError("gradcheck: no output depends on an input that requires grad")
        loss.backward()

    for i in checked:
        x = inputs[i]
        analytic = x.grad if x.grad is not None else np.zeros_like(x.data)
        original = x.data.copy()
        if fast:
            direction = rng.standard_normal(x.shape)
            x.data[...] = original + eps * direction
            plus = objective()
            x.data[...] = original - eps * direction
            minus = objective()
            x.data[...] = original
            numeric = (plus - minus) / (2 * eps)
            predicted = float(np.sum(analytic * direction))
            if not abs(predicted - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(f"gradcheck: input {i} of shape {x.shape}: directional derivative "
                                     f"analytic {predicted:.10g} vs numeric {numeric:.10g}")
            continue
        for where in np.ndindex(*x.shape):
            x.data[where] = original[where] + eps
            plus = objective()
            x.data[where] = original[where] - eps
            minus = objective()
            x.data[where] = original[where]
            numeric = (plus - minus) / (2 * eps)
            a = analytic[where]
            if not abs(a - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(f"gradcheck: input {i} of shape {x.shape}, element {where}: "
                                     f"analytic {a:.10g} vs numeric {numeric:.10g}")
    return True
