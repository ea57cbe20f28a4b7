"""Training logs for TensorBoard: the history rows as scalars under ``RUN/tensorboard/`` (setting ``tensorboard``).

:class:`TensorBoardLog` is a step callback (``callback(trainer, row)``, as ``pdec.fit`` takes one): on the first row
of a run whose settings say ``tensorboard = true`` it opens a ``torch.utils.tensorboard.SummaryWriter`` in the run
directory's ``tensorboard/`` folder, then writes each row's numbers at its step: ``loss`` (the weighted total),
``lr``, and ``loss/TERM``, ``weight/TERM``, ``unknown/NAME``, ``error/FIELD`` (the history's ``loss:TERM`` and so on,
the first colon a slash, so that TensorBoard groups them). The trainer does not know it is there.

Writing needs the ``tensorboard`` package (the ``pdec[tensorboard]`` extra): :func:`check_available` says so early.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings

FOLDER = "tensorboard"
SKIPPED = frozenset({"step", "time", "window"})  # the step is the x axis; the wall time is the writer's own
HINT = "pip install 'pdec[tensorboard]' (or tensorboard), or set tensorboard = false"


class Logged(Protocol):
    """What the log reads of the trainer that calls it (pdec.train.trainer.Trainer), and nothing else."""

    @property
    def settings(self) -> Settings:
        """The run's settings: ``tensorboard`` says whether to log."""

    @property
    def resume_dir(self) -> Path:
        """The run's directory (a time window's run: the marched run's), where ``tensorboard/`` goes."""


def check_available() -> None:
    """Raise PdecRunError unless ``torch.utils.tensorboard`` can be imported (it needs the tensorboard package)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        raise PdecRunError("the tensorboard setting needs the tensorboard package, which is not installed",
                           hint=HINT) from exc


def tag(column: str) -> str:
    """The scalar's tag for a history column: ``loss:pde:burgers`` -> ``loss/pde:burgers``; ``loss`` stays."""
    head, colon, rest = column.partition(":")
    return f"{head}/{rest}" if colon else column


def scalars(row: Mapping[str, Any]) -> dict[str, float]:
    """The row's numeric columns, by tag (text columns such as ``phase`` and ``dtype``, and ``step``, left out)."""
    out = {}
    for column, value in row.items():
        if column in SKIPPED or isinstance(value, (str, bool)) or value is None:
            continue
        try:
            out[tag(column)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


class TensorBoardLog:
    """A step callback writing history rows to TensorBoard when the run's settings ask for it.

    Args:
        enabled: False on the processes that do not write the run's files (ranks other than 0).
        then: a callback to call after logging each row (the caller's own).

    Steps count on across trainers (time windows): each new trainer's steps follow the last one's.
    """

    def __init__(self, enabled: bool = True, then: Callable[[Any, Mapping[str, Any]], None] | None = None) -> None:
        self.enabled, self.then = enabled, then
        self.writer: Any = None
        self.trainer: Logged | None = None
        self.offset = 0  # steps of the trainers before the current one
        self.last = 0  # the last step logged of the current trainer

    def __call__(self, trainer: Logged, row: Mapping[str, Any]) -> None:
        """Log ``row`` (a history Row, or its columns) at its step (counted on across trainers) when the trainer's
        settings ask; then ``then``."""  # noqa: D205, D209
        if self.enabled and trainer.settings.tensorboard:
            if trainer is not self.trainer:
                if self.trainer is not None:
                    self.offset += self.last
                self.trainer = trainer
            step = int(row["step"])
            self.last = step
            writer = self.open(trainer, self.offset + step)
            for name, value in scalars(row).items():
                writer.add_scalar(name, value, self.offset + step)
        if self.then is not None:
            self.then(trainer, row)

    def open(self, trainer: Logged, first_step: int) -> Any:
        """The writer, opened on the first row in the run directory's ``tensorboard/`` folder.

        ``purge_step``: a resumed run drops the events a crash left after its checkpoint.
        """
        if self.writer is None:
            check_available()
            from torch.utils.tensorboard import SummaryWriter

            folder = Path(trainer.resume_dir) / FOLDER
            try:
                self.writer = SummaryWriter(log_dir=str(folder), purge_step=first_step)
            except OSError as exc:
                raise PdecRunError(f"cannot write the TensorBoard log in '{folder}': {exc.strerror or exc}",
                                   hint="choose a run directory you can write to") from exc
        return self.writer

    def close(self) -> None:
        """Flush and close the writer (nothing when it never opened)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
