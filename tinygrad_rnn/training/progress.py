"""A small progress bar for training: step, loss, tokens/s and ETA on one line of stderr.

On a terminal the line is redrawn in place (``\\r``) at most ``refresh`` times a second; elsewhere (a log
file, a pipe, CI) a plain line is written every ``plain_every`` seconds, so logs stay readable.

ETA = the smaller of (remaining steps) x (seconds per step so far) and the time left in the budget::

    step  120/1000 [##------------------]  12%  loss 2.3456  5,210 tok/s  ETA 2:31

>>> import io
>>> bar = Progress(total_steps=10, stream=io.StringIO())
>>> bar.format(step=5, loss=1.5, tokens_per_s=1000.0, eta=65.0)
'step  5/10 [##########----------]  50%  loss 1.5000  1,000 tok/s  ETA 1:05'
"""

from __future__ import annotations

import math
import sys
import time


def format_seconds(seconds: float) -> str:
    """'m:ss' (or 'h:mm:ss') for a number of seconds; '?' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = int(round(max(seconds, 0.0)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Draw training progress to ``stream`` (stderr by default).

    ``total_steps`` and/or ``total_seconds`` give the budget (either may be None); ``start_step`` is where a
    resumed run starts, so the rate counts only this session's steps.
    """

    def __init__(self, total_steps: int | None = None, total_seconds: float | None = None, stream=None,
                 start_step: int = 0, refresh: float = 10.0, plain_every: float = 10.0, width: int = 20):
        self.stream = sys.stderr if stream is None else stream
        self.total_steps, self.total_seconds = total_steps, total_seconds
        self.start_step, self.width = start_step, width
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.min_gap = 1.0 / refresh if self.tty else plain_every
        self.t0 = time.perf_counter()
        self._last_draw = -math.inf
        self._drawn = False           # a partial line is on a terminal

    def eta(self, step: int) -> float:
        """Seconds left, from the steps still to go and the time budget (inf when neither is known)."""
        elapsed = time.perf_counter() - self.t0
        left = math.inf
        done = step - self.start_step
        if self.total_steps is not None and done > 0:
            left = (self.total_steps - step) * elapsed / done
        if self.total_seconds is not None:
            left = min(left, self.total_seconds - elapsed)
        return max(left, 0.0)

    def format(self, step: int, loss: float, tokens_per_s: float, eta: float) -> str:
        """One status line."""
        if self.total_steps:
            frac = min(max(step / self.total_steps, 0.0), 1.0)
            filled = int(round(frac * self.width))
            n = len(str(self.total_steps))
            head = (f"step {step:>{n}}/{self.total_steps} [{'#' * filled}{'-' * (self.width - filled)}] "
                    f"{frac * 100:3.0f}%")
        else:
            head = f"step {step:>6}"
        loss_text = f"{loss:.4f}" if math.isfinite(loss) else str(loss)
        return f"{head}  loss {loss_text}  {tokens_per_s:,.0f} tok/s  ETA {format_seconds(eta)}"

    def update(self, step: int, loss: float, tokens_per_s: float, force: bool = False) -> None:
        """Redraw (or print) the status if enough time has passed since the last one, or if ``force``."""
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_gap:
            return
        self._last_draw = now
        line = self.format(step, loss, tokens_per_s, self.eta(step))
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """End the partial terminal line so other output starts on a fresh line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    close = clear
