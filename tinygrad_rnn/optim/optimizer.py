"""Optimizer base class: parameter groups, per-parameter state, zero_grad, state_dict.

Subclasses implement one method, ``_update(p, grad, state, group)``, which changes ``p.data`` in place for a
single parameter. Everything else (groups, skipping parameters without gradients, checkpointable state) lives
here, once.
"""

from __future__ import annotations

import numbers

import numpy as np


class Optimizer:
    """Base class of all optimizers: holds parameter groups and per-parameter state.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each with a ``'params'`` entry and any
    hyper-parameters that override ``defaults``, as in PyTorch. A scheduler changes ``group['lr']`` between
    steps. ``step()`` skips every parameter whose ``.grad`` is None and updates the others' ``.data`` in place,
    keeping its dtype (float32 stays float32).

    ``state`` maps ``id(param)`` to that parameter's state dict (empty until its first update).

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD
        >>> class P:  # anything with .data and .grad works
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> w, b = P(np.ones(3, np.float32)), P(np.zeros(2, np.float32))
        >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.5]
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict[int, dict] = {}
        self.param_groups: list[dict] = []
        name = type(self).__name__
        if isinstance(getattr(params, "data", None), np.ndarray) or isinstance(params, (dict, np.ndarray)):
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or of dicts, but got {type(params).__name__}"
            )
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"{name}: params should be an iterable of Tensors or of dicts, but got {type(params).__name__}"
            ) from None
        if len(groups) == 0:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Append a parameter group; missing hyper-parameters are filled from ``defaults``."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: expected a parameter group dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: parameter group has no 'params' entry")
        params = param_group["params"]
        if isinstance(getattr(params, "data", None), np.ndarray):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be an ordered collection, got a set")
        else:
            params = list(params)
        for p in params:
            data = getattr(p, "data", None)
            if not isinstance(data, np.ndarray):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not np.issubdtype(data.dtype, np.floating):
                raise ValueError(f"{name}: can only optimize floating-point Tensors, got dtype {data.dtype}")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{name}: a parameter appears more than once in one parameter group")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = dict(param_group)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ steps
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient: set ``p.grad`` to None, or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()`` if one was given."""
        loss = None
        if closure is not None:
            loss = closure()
        states = self.state
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}: expected a gradient of shape {p.data.shape}, got {grad.shape}"
                    )
                state = states.get(id(p))
                if state is None:
                    state = states[id(p)] = {}
                self._update(p, grad, state, group)
        return loss

    def _update(self, p, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Return the optimizer's state as plain data: dicts, lists, Python scalars and NumPy arrays.

        ``{'state': {index: {name: value}}, 'param_groups': [{hyper-parameters..., 'params': [index, ...]}]}``
        where a parameter's index counts across all groups in order, as in PyTorch. Arrays are copies.
        """
        groups, state, index = [], {}, 0
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(index, index + len(group["params"])))
            for p in group["params"]:
                if self.state.get(id(p)):
                    state[index] = {k: _plain(v) for k, v in self.state[id(p)].items()}
                index += 1
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state saved by ``state_dict()`` (integer keys may come back as strings from JSON)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups', "
                             f"got {type(state_dict).__name__}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: expected {len(self.param_groups)} parameter groups, "
                f"the state dict has {len(saved_groups)}"
            )
        params = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}: expected {len(group['params'])} parameters in group {i}, "
                    f"the state dict has {len(saved['params'])}"
                )
            params.extend(group["params"])
        new_state = {}
        for key, entry in state_dict["state"].items():
            index = int(key)
            if not 0 <= index < len(params):
                raise ValueError(
                    f"{name}: state refers to parameter {index}, but the optimizer has {len(params)} parameters"
                )
            p = params[index]
            restored = {}
            for k, v in entry.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.data.shape:
                        raise ValueError(
                            f"{name}: expected state '{k}' of parameter {index} to have shape {p.data.shape}, "
                            f"got {v.shape}"
                        )
                    v = v.astype(p.data.dtype, copy=True)
                restored[k] = v
            new_state[id(p)] = restored
        # only now, when everything has been checked, change the optimizer
        for group, saved in zip(self.param_groups, saved_groups):
            for k, v in saved.items():
                if k == "params":
                    continue
                if isinstance(group.get(k), tuple) and isinstance(v, list):
                    v = tuple(v)
                group[k] = v
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def _plain(value):
    """Copy a value into checkpointable plain data (tuples become lists, arrays are copied)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def real_number(value, what: str, caller: str | None = None) -> float:
    """``value`` as a float; TypeError ``[caller: ]what must be a real number, got str`` unless it is one.

    A bool is not a real number here. A float skips the test against ``numbers.Real``, which costs
    microseconds a call (clipping runs it at every training step).
    """
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            where = f"{caller}: " if caller else ""
            raise TypeError(f"{where}{what} must be a real number, got {type(value).__name__}")
    return float(value)


def check_hyper(what: str, value, upper: float | None = None) -> None:
    """Check one constructor argument: a real number, >= 0 (and < ``upper`` if given), as PyTorch words it.

    TypeError for a non-number; ValueError ``Invalid learning rate: -1`` for a negative or NaN value.
    """
    real_number(value, what)
    if not (value >= 0.0 and (upper is None or value < upper)):
        raise ValueError(f"Invalid {what}: {value}")
