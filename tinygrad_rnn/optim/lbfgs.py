"""L-BFGS (Liu and Nocedal, 1989): a quasi-Newton method that builds its curvature model from the last
``history_size`` steps, with PyTorch's closure-based interface and an optional strong-Wolfe line search."""

from __future__ import annotations

import math

import numpy as np

from tinygrad_rnn.autograd import enable_grad
from tinygrad_rnn.optim.optimizer import Optimizer, check_hyper


def _cubic_minimum(t1, f1, g1, t2, f2, g2, low, high):
    """Minimiser in [low, high] of the cubic through (t1, f1) and (t2, f2) with slopes g1, g2
    (Nocedal and Wright, eq. 3.59); the middle of the interval when the cubic has no minimum."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2)
    disc = d1 * d1 - g1 * g2
    if disc < 0 or not math.isfinite(disc):
        return (low + high) / 2
    d2 = math.copysign(math.sqrt(disc), t2 - t1)
    denominator = g2 - g1 + 2 * d2
    if denominator == 0:
        return (low + high) / 2
    t = t2 - (t2 - t1) * (g2 + d2 - d1) / denominator
    return min(max(t, low), high)


def strong_wolfe(evaluate, t, d, f0, gtd0, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d satisfying the strong Wolfe conditions (Nocedal and Wright, algorithms 3.5 and 3.6):

        f(t) <= f(0) + c1 t f'(0)        (sufficient decrease)
        |f'(t)| <= c2 |f'(0)|            (curvature)

    ``evaluate(t)`` returns (loss, flat gradient) at x + t d. Bracketing grows t by cubic extrapolation
    until an interval holds an acceptable step; zooming shrinks it by safeguarded cubic interpolation.
    Returns (loss, gradient, t, evaluations) at the step taken (the best point found if ``max_ls``
    evaluations or a bracket narrower than ``tolerance_change`` ends the search first).
    """
    d_norm = float(np.abs(d).max())
    prev = (0.0, f0, None, gtd0)                     # (t, loss, gradient, slope along d)
    evals, bracket = 0, None
    while evals < max_ls:
        f, g = evaluate(t)
        evals += 1
        gtd = float(np.dot(g, d))
        point = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or (evals > 1 and f >= prev[1]):
            bracket = (prev, point)
            break
        if abs(gtd) <= -c2 * gtd0:
            return f, g, t, evals
        if gtd >= 0:
            bracket = (point, prev)
            break
        step = t - prev[0]
        t_next = _cubic_minimum(prev[0], prev[1], prev[3], t, f, gtd, t + 0.01 * step, t + 10 * step)
        prev, t = point, t_next
    if bracket is None:                              # ran out of evaluations while extrapolating
        return prev[1], prev[2], prev[0], evals
    lo, hi = bracket                                 # lo: the lower loss; the minimiser lies between
    while evals < max_ls and abs(hi[0] - lo[0]) * d_norm >= tolerance_change:
        left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
        width = right - left
        t = _cubic_minimum(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3], left, right)
        if not left + 0.1 * width <= t <= right - 0.1 * width:
            t = (left + right) / 2                   # too close to an end: bisect instead
        f, g = evaluate(t)
        evals += 1
        gtd = float(np.dot(g, d))
        point = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or f >= lo[1]:
            hi = point
        else:
            if abs(gtd) <= -c2 * gtd0:
                return f, g, t, evals
            if gtd * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = point
    if lo[2] is None:                                # no point better than the start: take no step
        return f0, None, 0.0, evals
    return lo[1], lo[2], lo[0], evals


class LBFGS(Optimizer):
    r"""L-BFGS with PyTorch's arguments: ``step(closure)`` runs up to ``max_iter`` iterations.

    ``closure()`` must clear the gradients, compute the loss, call ``backward()`` and return the loss.
    Each iteration, with g the flattened gradient of all parameters and (s_i, y_i) the last
    ``history_size`` pairs of parameter and gradient changes with y_i . s_i > 1e-10:

        d = -H g        (the two-loop recursion, H_0 = (s.y / y.y) I from the newest pair)
        x <- x + t d    t = lr (the first iteration ever: min(1, 1/|g|_1) lr), or the
                        strong-Wolfe step from t when ``line_search_fn='strong_wolfe'``

    Stops when max|g| <= ``tolerance_grad``, when the step or the loss change is below
    ``tolerance_change``, or after ``max_iter`` iterations or ``max_eval`` closure calls
    (default max_iter * 5 // 4). Returns the loss of the first closure call. One parameter group;
    the history is kept between calls to ``step``. Float32 parameters are updated in float32.

    Example (a quadratic, solved in a few iterations):
        >>> import numpy as np, tinygrad_rnn as tg
        >>> from tinygrad_rnn.optim import LBFGS
        >>> x = tg.Tensor(np.zeros(3), requires_grad=True)
        >>> target = tg.Tensor(np.array([1.0, -2.0, 3.0]))
        >>> opt = LBFGS([x], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((x - target) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> np.round(x.data, 6).tolist()
        [1.0, -2.0, 3.0]
    """

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        check_hyper("learning rate", lr)
        for name, value in (("max_iter", max_iter), ("history_size", history_size)) + \
                (() if max_eval is None else (("max_eval", max_eval),)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"LBFGS: {name} must be a positive int, got {value!r}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_iter * 5 // 4 if max_eval is None else max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: expected one parameter group, got {len(self.param_groups)}")
        self._params = self.param_groups[0]["params"]
        dtypes = {p.data.dtype for p in self._params}
        if len(dtypes) > 1:
            raise TypeError(f"LBFGS: expected parameters of one dtype, got {sorted(str(t) for t in dtypes)}")
        self._dtype = dtypes.pop()

    # ------------------------------------------------------------------ flat views of the parameters
    def _gather_grad(self):
        return np.concatenate([np.zeros(p.data.size, self._dtype) if p.grad is None else p.grad.reshape(-1)
                               for p in self._params])

    def _gather_params(self):
        return np.concatenate([p.data.reshape(-1) for p in self._params])

    def _set_params(self, flat):
        offset = 0
        for p in self._params:
            p.data[...] = flat[offset:offset + p.data.size].reshape(p.data.shape)
            offset += p.data.size

    def _add_step(self, t, d):
        offset = 0
        for p in self._params:
            p.data += (t * d[offset:offset + p.data.size]).reshape(p.data.shape).astype(self._dtype, copy=False)
            offset += p.data.size

    # ------------------------------------------------------------------ the method
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations on ``closure``; return its first loss."""
        if closure is None:
            raise ValueError("LBFGS: step needs a closure that re-evaluates the loss (and calls backward)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size, line_search = group["history_size"], group["line_search_fn"]
        state = self.state.setdefault(id(self._params[0]), {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        memory = state.setdefault("memory", {"old_dirs": [], "old_stps": [], "ro": []})

        def evaluate():
            with enable_grad():
                value = closure()
            return value, float(value.item() if hasattr(value, "item") else value)

        orig_loss, loss = evaluate()
        current_evals = 1
        state["func_evals"] += 1
        g = self._gather_grad()
        if not np.all(np.isfinite(g)) or not math.isfinite(loss):
            raise ValueError(f"LBFGS: the closure gave a non-finite loss ({loss}) or gradient")
        if np.abs(g).max() <= tol_grad:
            return orig_loss
        d, t = memory.get("d"), state.get("t")
        old_dirs, old_stps, ro = memory["old_dirs"], memory["old_stps"], memory["ro"]
        h_diag = state.get("H_diag", 1.0)
        prev_g, prev_loss = memory.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # --- direction: d = -H g by the two-loop recursion over the stored pairs
            if state["n_iter"] == 1:
                d = -g
                old_dirs.clear(), old_stps.clear(), ro.clear()
                h_diag = 1.0
            else:
                y, s = g - prev_g, d * t
                ys = float(np.dot(y, s))
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(np.dot(y, y))
                q = -g
                alphas = [0.0] * len(old_dirs)
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(np.dot(old_stps[i], q)) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(np.dot(old_dirs[i], d)) * ro[i]
                    d = d + old_stps[i] * (alphas[i] - beta)
            prev_g, prev_loss = g.copy(), loss
            # --- step size
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(np.dot(g, d))
            if gtd > -tol_change:                    # not a descent direction any more
                break
            if line_search == "strong_wolfe":
                start = self._gather_params()

                def along(step):
                    self._set_params(start + step * d)
                    return evaluate()[1], self._gather_grad()

                loss, g_new, t, ls_evals = strong_wolfe(along, t, d, loss, gtd, tolerance_change=tol_change)
                self._set_params(start + t * d)
                if g_new is None:                    # the search found nothing better: restore the gradient
                    evaluate()
                    g_new = self._gather_grad()
                    ls_evals += 1
                g = g_new
            else:
                self._add_step(t, d)
                ls_evals = 0
                if n_iter != max_iter:
                    loss = evaluate()[1]
                    g = self._gather_grad()
                    ls_evals = 1
            current_evals += ls_evals
            state["func_evals"] += ls_evals
            # --- stopping tests
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if np.abs(g).max() <= tol_grad:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break
        memory.update(d=d, prev_flat_grad=prev_g)
        state.update(t=t, H_diag=h_diag, prev_loss=prev_loss)
        return orig_loss
