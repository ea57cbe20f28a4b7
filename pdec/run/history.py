"""The run's history: one structured :class:`Row` per optimiser step, flattened to columns only where a file is written.

A row holds each quantity in a field of its own, keyed by what it is about: ``losses`` and ``weights`` by term name
(``pde:burgers``, built by pdec.language.problem.term_name: the term's kind and its name), ``unknowns`` by unknown,
``errors`` by field, ``causal`` by equation (``""``: the weight the equations share). The files (``history.csv``, the
checkpoint's JSON) and the user's view of a row (``row["loss:pde:burgers"]``, as a step callback and
``Result.history`` read it) use flat columns::

    step, phase, dtype, lr, loss, loss:TERM..., weight:TERM..., unknown:NAME..., causal:min_weight,
    causal:min_weight:TERM..., error:FIELD..., time, window

:func:`column` names a (quantity, name) pair's column and :func:`parse_column` takes a column name back apart: the one
place either happens. A column this version does not know (a newer writer's) is kept as read, after the others.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# A row's scalar columns, each a field of Row: (column, field), in the order the columns are written.
SCALARS = (("step", "step"), ("phase", "phase"), ("dtype", "dtype"), ("lr", "lr"), ("loss", "loss"))
# A row's keyed quantities: (the column's prefix, the Row field holding {name: value}), in the order written.
KEYED = (
    ("loss", "losses"),
    ("weight", "weights"),
    ("unknown", "unknowns"),
    ("causal:min_weight", "causal"),
    ("error", "errors"),
)
TRAILING = (("time", "time"), ("window", "window"))  # written after the keyed quantities
TEXT = ("phase", "dtype")  # the columns read back from a CSV as text (every other one is a number)


def column(quantity: str, name: str) -> str:
    """The flat column of ``quantity`` (a prefix of ``KEYED``) about ``name``: ``loss:pde:burgers``.

    The causal weight the equations share (``name`` ``""``) is ``causal:min_weight``.
    """
    return f"{quantity}:{name}" if name else quantity


def parse_column(name: str) -> tuple[str, str | None]:
    """A flat column's Row field and key: ``("losses", "pde:burgers")``, ``("lr", None)``; ``("other", name)``.

    A scalar column's key is None; an unknown column is ``("other", name)``.
    """
    for written, attribute in SCALARS + TRAILING:
        if name == written:
            return attribute, None
    if name == "causal:min_weight":
        return "causal", ""
    for prefix, attribute in KEYED:
        head, colon, rest = name.partition(f"{prefix}:")
        if colon and not head and rest:
            return attribute, rest
    return "other", name


@dataclass(eq=False)
class Row(MutableMapping[str, Any]):
    """One history row: a step's phase, learning rate, total and per-term losses, weights, unknowns and errors.

    Also a mapping from flat column names to values (``row["loss:pde:burgers"]``, ``row.items()``), the view a step
    callback and ``Result.history.rows`` give users; a row compares equal to the dict of its columns. Fields left
    None (and empty quantities) have no column. Numbers read back from a CSV are floats (``step`` too).

    Attributes:
        step: the step after the row's update (1-based; a second-phase row: the iterations done so far).
        phase: ``adam`` or the second phase's optimiser.
        dtype: the weights' precision during the step.
        lr: the network's learning rate.
        loss: the weighted total loss, ``sum_k lambda_k L_k``.
        losses: ``{term: mean residual^2}`` of the active terms, before the update.
        weights: ``{term: lambda}`` of every term.
        unknowns: ``{unknown: value}``.
        causal: the causal weights' smallest: ``""`` the equations' shared one, each equation's own by its term.
        errors: ``{field: relative L2 error}`` on evaluation steps.
        time: the wall time spent training so far (seconds).
        window: the time window (1...) in a marched run's joined history.
        other: columns this version does not know, as read.
    """

    step: int | None = None
    phase: str | None = None
    dtype: str | None = None
    lr: float | None = None
    loss: float | None = None
    losses: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    unknowns: dict[str, float] = field(default_factory=dict)
    causal: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    time: float | None = None
    window: int | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_flat(cls, columns: Mapping[str, Any]) -> Row:
        """The row of flat ``columns`` (a CSV line, a checkpoint's JSON row, a user's dict); a Row as it is."""
        if isinstance(columns, Row):
            return columns
        row = cls()
        for name, value in columns.items():
            row[name] = value
        return row

    def flat(self) -> dict[str, Any]:
        """The row's columns in the order they are written (the files' and the user's view)."""
        out: dict[str, Any] = {name: v for name, attribute in SCALARS if (v := getattr(self, attribute)) is not None}
        for prefix, attribute in KEYED:
            out.update((column(prefix, k), v) for k, v in getattr(self, attribute).items())
        out.update((name, v) for name, attribute in TRAILING if (v := getattr(self, attribute)) is not None)
        out.update(self.other)
        return out

    def __getitem__(self, name: str) -> Any:
        attribute, key = parse_column(name)
        value = getattr(self, attribute)
        if key is None:
            if value is None:
                raise KeyError(name)
            return value
        return value[key]

    def __setitem__(self, name: str, value: Any) -> None:
        attribute, key = parse_column(name)
        if key is None:
            setattr(self, attribute, value)
        else:
            getattr(self, attribute)[key] = value

    def __delitem__(self, name: str) -> None:
        attribute, key = parse_column(name)
        if key is None:
            if getattr(self, attribute) is None:
                raise KeyError(name)
            setattr(self, attribute, None)
        else:
            del getattr(self, attribute)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.flat())

    def __len__(self) -> int:
        return len(self.flat())

    def __repr__(self) -> str:
        return f"Row({self.flat()!r})"


class History:
    """The run's rows, one per step (:class:`Row`); a column of them as an array (``history["loss:pde:burgers"]``).

    ``rows`` are structured; :meth:`write_csv` and :meth:`packed` (the checkpoint) flatten them.
    """

    def __init__(self, rows: Sequence[Mapping[str, Any]] = (), blocks: Sequence[str] = ()) -> None:
        self.rows: list[Row] = [Row.from_flat(r) for r in rows]
        self.written: tuple[Path, list[str], int] | None = None  # the CSV last written: path, columns, rows
        self.blocks = list(blocks)  # the rows as JSON text, block by block (packed), and how many rows they hold
        self.encoded = len(self.rows) if self.blocks else 0
        self.seen: tuple[dict[str, None], int] = ({}, 0)  # the columns of the first rows, and how many rows
        self.recent: tuple[int, list[dict[str, Any]]] = (0, [])  # the rows last flattened: the first, their dicts

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (a Row, or a mapping of flat columns)."""
        self.rows.append(Row.from_flat(row))

    def truncate(self, length: int) -> None:
        """Drop the rows after the first ``length`` (a rollback)."""
        if length < len(self.rows):
            del self.rows[length:]
            self.written, self.blocks, self.encoded, self.seen, self.recent = None, [], 0, ({}, 0), (0, [])

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        """Every column name, in first-seen order (the rows added since the last call are read)."""
        seen, read = self.seen
        for flat in self.flattened(read) if read < len(self.rows) else ():
            seen.update(dict.fromkeys(flat))
        self.seen = (seen, len(self.rows))
        return list(seen)

    def flattened(self, start: int = 0) -> list[dict[str, Any]]:
        """The rows from ``start`` on as dicts of flat columns (what the files hold).

        A checkpoint reads the rows added since the last one three times (their columns, the CSV, the JSON): the
        dicts of the last call are reused while no row is added, so each row is flattened once.
        """
        first, flats = self.recent
        if first <= start and first + len(flats) == len(self.rows):
            return flats[start - first :]
        flats = [row.flat() for row in self.rows[start:]]
        self.recent = (start, flats)
        return flats

    def packed(self) -> dict[str, list[str]]:
        """The rows for a checkpoint: ``{"json": blocks}``, each block the JSON text of the rows added since the last.

        Each row is encoded once (a checkpoint every 1,000 steps pickled the whole history each time); JSON keeps
        ints, floats (repr: exact), NaN, text and the order of each row's columns, and loads without running code.
        """
        if self.encoded < len(self.rows):
            self.blocks.append(json.dumps(self.flattened(self.encoded), default=_json_number))
            self.encoded = len(self.rows)
        return {"json": list(self.blocks)}

    @classmethod
    def unpacked(cls, saved: Any) -> History:
        """The history a checkpoint holds: :meth:`packed` blocks, or (checkpoints before them) the rows."""
        if isinstance(saved, Mapping):
            blocks = [str(b) for b in saved["json"]]
            return cls([row for block in blocks for row in json.loads(block)], blocks)
        return cls(saved)

    def __getitem__(self, name: str) -> np.ndarray:
        """The column as a float array (NaN where a row has no value, e.g. errors between evaluations)."""
        return np.array([_number(row.get(name)) for row in self.rows])

    def names(self, quantity: str) -> list[str]:
        """The keys of a keyed quantity (a Row field: ``"losses"``, ``"unknowns"``...) in first-seen order."""
        return list(dict.fromkeys(k for row in self.rows for k in getattr(row, quantity)))

    def series(self, quantity: str, name: str) -> np.ndarray:
        """A keyed quantity's values about ``name`` as a float array (NaN where a row has none)."""
        return np.array([_number(getattr(row, quantity).get(name)) for row in self.rows])

    def last(self, name: str) -> Any:
        """The last recorded value of column ``name`` (None if never recorded)."""
        for row in reversed(self.rows):
            if name in row:
                return row[name]
        return None

    def write_csv(self, path: Path) -> None:
        """Write every row (floats with repr precision; empty cells where a row has no value).

        Rows added since the last write to ``path`` are appended when the columns are the same (a checkpoint every
        1,000 steps would otherwise rewrite the whole history each time); otherwise the file is written anew.
        """
        columns = self.columns
        if self.written is not None and self.written[:2] == (path, columns) and path.is_file():
            with open(path, "a", newline="") as f:
                csv.writer(f).writerows([flat.get(c, "") for c in columns] for flat in self.flattened(self.written[2]))
        else:
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(columns)
                writer.writerows([flat.get(c, "") for c in columns] for flat in self.flattened())
            os.replace(tmp, path)
        self.written = (path, columns, len(self.rows))

    @classmethod
    def read_csv(cls, path: Path) -> History:
        """Read a history CSV back (numbers as floats, ``phase`` and ``dtype`` as text)."""
        with open(path, newline="") as f:
            rows = [{k: (v if k in TEXT else float(v)) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        return cls(rows)


def _number(value: Any) -> float:
    """A cell as a float: NaN for a missing one."""
    return math.nan if value is None or value == "" else float(value)


def _json_number(value: Any) -> Any:
    """A numpy scalar as the Python number JSON writes (TypeError for anything else)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a history value of type {type(value).__name__} cannot be saved")


__all__ = ["History", "Row", "column", "parse_column"]
