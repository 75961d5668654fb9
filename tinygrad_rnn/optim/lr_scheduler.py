"""Learning-rate schedules that rewrite ``group['lr']`` of an optimizer, with PyTorch's semantics and numbers.

Call ``scheduler.step()`` once per epoch (or iteration) after ``optimizer.step()``. Constructing a scheduler
already takes step 0: ``last_epoch`` becomes 0 and the groups get their epoch-0 learning rates. Like PyTorch,
the epoch-based schedules update the current ``group['lr']`` recursively (chainable), so their values match
``torch.optim.lr_scheduler`` to the last bit or nearly so.
"""

from __future__ import annotations

import math
import numbers

from tinygrad_rnn.optim.optimizer import Optimizer, _plain


def _check_int(owner: str, what: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: expected {what} to be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}: expected {what} >= {minimum}, got {value}")


def _check_optimizer(owner: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class of the epoch-based schedules: subclasses give ``get_lr()`` for the new ``last_epoch``.

    ``last_epoch=-1`` starts fresh and records ``group['initial_lr']``; a larger value resumes a schedule whose
    optimizer already has ``initial_lr`` in every group. ``state_dict()`` is plain data (no optimizer).
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        _check_int(name, "last_epoch", last_epoch, -1)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{name}: resuming with last_epoch={last_epoch} needs 'initial_lr' in "
                        f"param_groups[{i}]; load the optimizer's state dict first"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of each group for the current ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer's groups."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain data."""
        return {k: _plain(v) for k, v in self.__dict__.items() if k not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()`` of the same scheduler class."""
        name = type(self).__name__
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}: expected a state dict with keys {sorted(expected)}, got {got}")
        n = len(self.optimizer.param_groups)
        if len(state_dict["base_lrs"]) != n:
            raise ValueError(
                f"{name}: expected {n} base_lrs (one per parameter group), got {len(state_dict['base_lrs'])}"
            )
        self.__dict__.update(_plain(state_dict))


class LambdaLR(LRScheduler):
    r"""Learning rate = initial lr times a function of the epoch: ``lr_t = base_lr * lr_lambda(t)``.

    ``lr_lambda`` is one function or a list with one per parameter group. Useful for warm-up, e.g.
    ``lambda t: min(1.0, (t + 1) / 100)``. The functions are not part of ``state_dict()`` (plain data only):
    construct the scheduler with the same functions before loading.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, LambdaLR
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = LambdaLR(opt, lambda t: 0.5 ** t)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer("LambdaLR", optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: expected lr_lambda to be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}

    def load_state_dict(self, state_dict: dict) -> None:
        lr_lambdas = self.lr_lambdas
        del self.lr_lambdas                  # so the key check sees the same keys as state_dict() gives
        try:
            super().load_state_dict(state_dict)
        finally:
            self.lr_lambdas = lr_lambdas


class StepLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

        lr_t = base_lr * gamma ** (t // step_size)

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, StepLR
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     sched.step(); lrs.append(sched.get_last_lr()[0])
        >>> lrs
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_int("StepLR", "step_size", step_size, 1)
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    r"""Multiply the learning rate by ``gamma`` every epoch: ``lr_t = base_lr * gamma ** t``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, ExponentialLR
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return [group["lr"] for group in self.optimizer.param_groups]
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along half a cosine from ``base_lr`` to ``eta_min`` over ``T_max`` epochs.

        lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    computed recursively from the current ``group['lr']`` as PyTorch does (so it composes with other
    schedules); past ``T_max`` it rises again along the cosine, without restarting.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, CosineAnnealingLR
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.0)
        >>> sched.step(); sched.step(); round(sched.get_last_lr()[0], 12)   # halfway: (1 + cos(pi/2)) / 2
        0.5
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.T_max = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, t, T, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:      # resumed at epoch t: use the closed form once
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:          # leaving the minimum, where the ratio below would be 0/0
            return [group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]


class LinearLR(LRScheduler):
    r"""Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

        lr_t = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    The usual linear warm-up is ``LinearLR(opt, start_factor=0.01, total_iters=warmup_steps)``.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, LinearLR
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> lrs = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     sched.step(); lrs.append(round(sched.get_last_lr()[0], 12))
        >>> lrs
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        if not 0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: expected 0 < start_factor <= 1, got {start_factor}")
        if not 0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: expected 0 <= end_factor <= 1, got {end_factor}")
        _check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, t = self.optimizer.param_groups, self.last_epoch
        if t == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or t > self.total_iters:
            return [group["lr"] for group in groups]
        slope = self.end_factor - self.start_factor
        factor = 1.0 + slope / (self.total_iters * self.start_factor + (t - 1) * slope)
        return [group["lr"] * factor for group in groups]


class ReduceLROnPlateau:
    r"""Multiply the learning rate by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. With mode 'min' a value ``a`` improves on the best so far when
    ``a < best * (1 - threshold)`` (threshold_mode 'rel') or ``a < best - threshold`` ('abs'); mode 'max'
    mirrors that. After more than ``patience`` epochs without improvement every group's lr becomes
    ``max(lr * factor, min_lr)`` (changes smaller than ``eps`` are skipped), then ``cooldown`` epochs pass
    during which bad epochs are not counted.

    Example:
        >>> import numpy as np
        >>> from tinygrad_rnn.optim import SGD, ReduceLROnPlateau
        >>> class P:
        ...     def __init__(self, a): self.data, self.grad = a, None
        >>> opt = SGD([P(np.zeros(1))], lr=1.0)
        >>> sched = ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> for loss in [3.0, 2.0, 2.0, 2.0]:
        ...     sched.step(loss)
        >>> sched.get_last_lr()
        [0.5]
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0,
                 eps: float = 1e-8):
        _check_optimizer("ReduceLROnPlateau", optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: expected mode 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: expected threshold_mode 'rel' or 'abs', got {threshold_mode!r}")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: expected factor < 1.0, got {factor}")
        _check_int("ReduceLROnPlateau", "patience", patience, 0)
        _check_int("ReduceLROnPlateau", "cooldown", cooldown, 0)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs (one per parameter group), "
                                 f"got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, int(patience)
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = int(cooldown), eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1.0 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metrics) -> None:
        """Record one epoch's metric (a number, or anything with ``.item()``) and reduce the lr if due."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates after the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain data."""
        return {k: _plain(v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict()``."""
        expected = set(self.state_dict())
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"ReduceLROnPlateau: expected a state dict with keys {sorted(expected)}, got {got}")
        if state_dict["mode"] not in ("min", "max") or state_dict["threshold_mode"] not in ("rel", "abs"):
            raise ValueError(
                f"ReduceLROnPlateau: expected mode 'min'/'max' and threshold_mode 'rel'/'abs', "
                f"got {state_dict['mode']!r} and {state_dict['threshold_mode']!r}"
            )
        if len(state_dict["min_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"ReduceLROnPlateau: expected {len(self.optimizer.param_groups)} min_lrs, "
                f"got {len(state_dict['min_lrs'])}"
            )
        self.__dict__.update(_plain(state_dict))
