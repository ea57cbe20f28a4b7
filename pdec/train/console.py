"""The run's console: Ctrl-C handling, the progress bar, status lines and warnings, printed by rank 0 only.

Rank-aware I/O: under ``torch.distributed`` only rank 0 prints and writes files (``main_process()``); without it
(the usual case) the process is rank 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pdec.run.history import Row


def rank() -> int:
    """This process's rank under ``torch.distributed`` when a process group is initialised, else 0."""
    distributed = getattr(sys.modules.get("torch"), "distributed", None)
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        return int(distributed.get_rank())
    return 0


def main_process() -> bool:
    """Whether this process prints and writes the run's files (rank 0)."""
    return rank() == 0


def say(message: str, quiet: bool = False) -> None:
    """Print a message to stderr unless ``quiet`` (rank 0 only)."""
    if not quiet and main_process():
        print(message, file=sys.stderr, flush=True)


def interactive() -> bool:
    """Whether stderr is a terminal a person watches (not a pipe, not CI)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[dict[str, bool]]:
    """Turn the first Ctrl-C into a flag checked between steps; a second one stops at once (main thread only)."""
    flag = {"hit": False, "hard": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if flag["hit"]:
            flag["hard"] = True
            raise KeyboardInterrupt
        flag["hit"] = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def crossed(previous: int, step: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(previous, step]``."""
    return step // every > previous // every


class Console:
    """What one run shows: a progress bar on a terminal, else a status line every ``STATUS_EVERY`` seconds.

    Args:
        quiet: no bar, no status lines, no summary.
        terms: the term names, in the order status lines list their losses.
        total: the run's total steps (Adam steps plus second-phase iterations).
    """

    STATUS_EVERY = 30.0  # seconds between status lines when stderr is not a terminal

    def __init__(self, quiet: bool, terms: Sequence[str], total: int) -> None:
        self.quiet = quiet
        self.show_bar = not quiet and interactive() and main_process()
        self.show_status = not quiet and not self.show_bar
        self.terms = tuple(terms)
        self.total = total
        self.bar: Any = None
        self._last_status = time.monotonic()
        self._phase: tuple[Any, int, float] = (None, 0, 0.0)  # the current phase, its first step and time then
        self._warned: set[tuple[str, str]] = set()

    @contextlib.contextmanager
    def progress(self, initial: int) -> Iterator[None]:
        """Show the progress bar (when on a terminal) while the block runs."""
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, initial=initial, disable=not self.show_bar, dynamic_ncols=True, unit="step")
        try:
            yield
        finally:
            self.bar.close()

    def moved_to(self, step: int) -> None:
        """The run went back to ``step`` (a rollback)."""
        self.bar.n = step

    def show(self, previous: int, row: Row, errors: Mapping[str, float], elapsed: float) -> None:
        """Advance the bar to the row's step; every 10 steps show its loss; off a terminal, a status line when due."""
        step = row.step
        self.bar.update(step - previous)
        if self.show_bar and (crossed(previous, step, 10) or step == self.total):
            shown = {"loss": f"{row.loss:.3e}"}
            shown.update({f"error {k}": f"{v:.2e}" for k, v in errors.items()})  # the latest evaluation
            self.bar.set_postfix(shown, refresh=False)
        now = time.monotonic()
        if self.show_status and (now - self._last_status >= self.STATUS_EVERY or step == self.total):
            self._last_status = now
            say(self.status_line(row, errors, elapsed))

    def status_line(self, row: Row, errors: Mapping[str, float], elapsed: float) -> str:
        """One line for a log file: step, phase, total and per-term losses, latest errors, time spent and left."""
        step = row.step
        terms = ", ".join(f"{k} {row.losses[k]:.2e}" for k in self.terms if k in row.losses)
        shown = ", ".join(f"{k} {v:.2e}" for k, v in errors.items())
        if self._phase[0] != row.phase:  # each phase's own pace (a second-phase iteration
            self._phase = (row.phase, step, elapsed)  # costs several Adam steps)
        _, start, spent = self._phase
        pace = (elapsed - spent) / (step - start) if step > start else elapsed / max(step, 1)
        left = pace * (self.total - step)
        return (
            f"step {step}/{self.total} {row.phase}: loss {row.loss:.3e} ({terms})"
            + (f"; error {shown}" if shown else "")
            + f"; {elapsed:.0f} s, about {left:.0f} s left"
        )

    def warn_new(self, step: int, findings: Sequence[Any]) -> None:
        """Print the findings (pdec.train.diagnostics) not printed before in this run."""
        for finding in findings:
            if finding.key not in self._warned:
                self._warned.add(finding.key)
                say(f"warning: step {step}: {finding.message}", self.quiet)
