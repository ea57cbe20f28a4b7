"""Parametric runs: the trained surrogate of a family (``param nu in [lo, hi]``) at chosen parameter values.

A parametric run's network takes the parameters as its last input columns. This module turns what a user gives into
those columns (:func:`full_points`: a column in the points, or one value for all of them, checked against the
trained range), and infers parameters from observations with the network frozen (:func:`infer`: a scan of the
parameter range, then a bounded quasi-Newton refinement of the data misfit; no retraining).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pdec.core.errors import PdecDataError, PdecRunError
from pdec.core.intervals import fraction, spaced, spread

RANGE_RTOL = 1e-9  # a value this close to an end of the trained range (relative to its length) counts as inside
SCAN = 41  # values of each unknown parameter in the first scan (41 in one, 41^k / ... capped in several)
MOST_SCANNED = 4096  # the most combinations the first scan evaluates


def full_points(
    points: Any,
    variables: Sequence[str],
    parameters: Mapping[str, tuple[float, float]],
    values: Mapping[str, float],
) -> np.ndarray:
    """The network's input columns ``[N, len(variables)]`` from ``points`` and parameter values given by name.

    Args:
        points: array-like ``[N, k]`` or ``[k]``: the columns of ``variables`` not given in ``values``, in order.
        variables: every input column of the run (its variables, then its parameters).
        parameters: each parameter's trained range.
        values: parameter name -> one value for every point (``nu=0.01``).

    Raises:
        ValueError: a name in ``values`` that is not a parameter, the wrong number of columns (the message names
            them), or a parameter value outside its trained range (the surrogate is not trained there).
    """
    unknown = [name for name in values if name not in parameters]
    if unknown:
        have = f"its parameters are {', '.join(parameters)}" if parameters else "this run has no parameters"
        raise ValueError(f"{', '.join(unknown)} {'is not a parameter' if len(unknown) == 1 else 'are not parameters'} "
                         f"of this run: {have}")
    given = np.atleast_2d(np.asarray(points, dtype=float))
    columns = [v for v in variables if v not in values]
    if given.shape[1] != len(columns):
        missing = [p for p in parameters if p not in values]
        hint = f", or give {' and '.join(f'{p}=VALUE' for p in missing)}" if missing and len(columns) > 1 else ""
        raise ValueError(f"points need {len(columns)} columns ({', '.join(columns)}), got {given.shape[1]}{hint}")
    out = np.empty((len(given), len(variables)))
    for j, name in enumerate(variables):
        out[:, j] = values[name] if name in values else given[:, columns.index(name)]
    check_range(out, variables, parameters)
    return out


def check_range(points: np.ndarray, variables: Sequence[str], parameters: Mapping[str, tuple[float, float]]) -> None:
    """Raise ValueError at the first parameter value outside its trained range (or not finite)."""
    for name, (lo, hi) in parameters.items():
        column = points[:, list(variables).index(name)]
        tol = RANGE_RTOL * (hi - lo)
        bad = np.flatnonzero(~((column >= lo - tol) & (column <= hi + tol)))
        if bad.size:
            raise ValueError(
                f"{name} = {column[bad[0]]:g} (row {bad[0] + 1}) is outside the trained range [{lo:g}, {hi:g}] "
                f"({bad.size} row(s) in all): the surrogate is trained for {lo:g} <= {name} <= {hi:g} only"
            )


# ----------------------------------------------------------------------------------------------------------- infer


@dataclass(frozen=True)
class Inferred:
    """Parameters inferred from observations against a trained surrogate.

    Attributes:
        values: parameter name -> the value that fits the observations best (inside the trained range).
        misfit: the root mean square of the misfit there, each field's divided by its observations' RMS.
        rows: how many observations were fitted.
        evaluations: how many times the surrogate was evaluated at every observation.
        at_end: the parameters whose value lies at an end of the trained range (the best fit may lie beyond it).
    """

    values: dict[str, float]
    misfit: float
    rows: int
    evaluations: int
    at_end: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [f"{name} = {value:.6g}" for name, value in self.values.items()]
        lines.append(f"relative RMS misfit {self.misfit:.3g} over {self.rows} observations")
        lines += [f"warning: {name} is at an end of the trained range; the data may fit better beyond it"
                  for name in self.at_end]
        return "\n".join(lines)


def infer(result: Any, data: Any, unknown: str | Sequence[str] | None = None) -> Inferred:
    """Find parameter values from observations, with the trained network frozen (no retraining).

    Args:
        result: a parametric run's Result (``pdec.fit`` or ``pdec.run.results.load_result``).
        data: observations: a CSV path (a header naming columns), or a mapping ``{column: array}``. The columns are
            the run's variables, the known parameters and some fields; the unknown parameters are left out.
        unknown: the parameter(s) to find; default: every parameter the data do not give.

    Returns:
        The :class:`Inferred` values, minimising the sum over the observed fields of the mean squared misfit, each
        divided by the mean square of its observations: a scan of the trained range, then L-BFGS-B from its best.

    Raises:
        PdecDataError: the data are unreadable, miss a column, or observe no field.
        PdecRunError: the run has no parameters, or ``unknown`` names something else.
    """
    parameters = dict(result.parameters)
    if not parameters:
        raise PdecRunError("this run has no parameters to infer", hint="declare one with `param NAME in [lo, hi]`")
    columns = read_columns(data)
    names = _unknown_names(unknown, parameters, columns)
    inputs, observed, fields = _observations(result, columns, names)
    scale = np.sqrt(np.mean(observed**2, axis=0))
    scale[scale == 0] = 1.0
    misfit = _Misfit(result, inputs, observed / scale, fields, scale, names)
    bounds = [parameters[n] for n in names]
    start = _scan(misfit, bounds)
    best = _refine(misfit, start, bounds)
    ends = zip(names, best, bounds, strict=True)
    at_end = tuple(n for n, v, (lo, hi) in ends if min(v - lo, hi - v) <= 1e-6 * (hi - lo))
    values = {n: float(v) for n, v in zip(names, best, strict=True)}
    return Inferred(values, float(np.sqrt(misfit(best))), len(observed), misfit.calls, at_end)


class _Misfit:
    """The relative mean squared misfit at parameter values (the network frozen), counting its evaluations."""

    def __init__(self, result: Any, inputs: np.ndarray, observed: np.ndarray, fields: list[int], scale: np.ndarray,
                 names: Sequence[str]) -> None:
        self.result, self.inputs, self.observed, self.fields, self.scale = result, inputs, observed, fields, scale
        self.columns = [list(result.variables).index(n) for n in names]
        self.calls = 0

    def __call__(self, values: Sequence[float]) -> float:
        x = self.inputs.copy()
        for j, v in zip(self.columns, values, strict=True):
            x[:, j] = v
        self.calls += 1
        predicted = self.result.net_values(x)[:, self.fields] / self.scale
        return float(np.mean((predicted - self.observed) ** 2))


def _scan(misfit: _Misfit, bounds: list[tuple[float, float]]) -> np.ndarray:
    """The best of a regular grid over the trained range (the misfit may have several minima)."""
    per = max(3, min(SCAN, int(MOST_SCANNED ** (1 / len(bounds)))))
    axes = [spaced(b, per) for b in bounds]  # evenly in log(p) for a `log` parameter
    grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    scores = [misfit(v) for v in grid]
    return grid[int(np.argmin(scores))]


def _refine(misfit: _Misfit, start: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray:
    """L-BFGS-B from the scan's best, inside the trained range (variables scaled onto [0, 1]: of their logarithm's
    range for a `log` parameter)."""  # noqa: D205, D209
    from scipy.optimize import minimize

    def place(unit: np.ndarray) -> np.ndarray:
        return np.array([float(spread(b, np.clip(u, 0.0, 1.0))) for b, u in zip(bounds, unit, strict=True)])

    unit = [fraction(b, v) for b, v in zip(bounds, start, strict=True)]
    found = minimize(lambda s: misfit(place(s)), unit, method="L-BFGS-B",
                     bounds=[(0.0, 1.0)] * len(bounds), options={"ftol": 1e-15, "gtol": 1e-12, "eps": 1e-7})
    best = place(found.x)
    return best if misfit(best) <= misfit(start) else start


def read_columns(data: Any) -> dict[str, np.ndarray]:
    """Observations as named columns: a CSV file with a header row, or a mapping of names to arrays."""
    if isinstance(data, Mapping):
        columns = {str(k): np.asarray(v, dtype=float).reshape(-1) for k, v in data.items()}
        if len({len(c) for c in columns.values()}) > 1:
            raise PdecDataError("the observations' columns have different lengths")
        return columns
    path = Path(data)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PdecDataError(f"cannot read observations from '{path}': {exc}", hint="pass a CSV file") from exc
    if len(rows) < 2:
        raise PdecDataError(f"'{path}' holds no observations", hint="a header row naming the columns, then rows")
    header = [h.strip() for h in rows[0]]
    try:
        table = np.array([[float(c) for c in r] for r in rows[1:]], dtype=float)
    except ValueError as exc:
        raise PdecDataError(f"cannot read observations from '{path}': {exc}",
                            hint="a header row naming the columns, then numbers") from exc
    if table.shape[1] != len(header):
        raise PdecDataError(f"'{path}' has {table.shape[1]} columns but its header names {len(header)}")
    return {name: table[:, j] for j, name in enumerate(header)}


def _unknown_names(unknown: str | Sequence[str] | None, parameters: Mapping[str, Any], columns: Mapping) -> list[str]:
    """The parameters to infer: those named, else every parameter the data do not give."""
    if unknown is None:
        names = [p for p in parameters if p not in columns]
        if not names:
            raise PdecDataError("the observations give every parameter: there is nothing to infer",
                                hint="leave out the column of the parameter to infer")
        return names
    names = [unknown] if isinstance(unknown, str) else list(unknown)
    for name in names:
        if name not in parameters:
            hint = f"its parameters: {', '.join(parameters)}"
            raise PdecRunError(f"'{name}' is not a parameter of this run", hint=hint)
    return names


def _observations(result: Any, columns: Mapping[str, np.ndarray], names: Sequence[str]) -> tuple:
    """The inputs (unknown parameters' columns still to fill), the observed values and their fields' columns."""
    need = [v for v in result.variables if v not in names]
    missing = [v for v in need if v not in columns]
    if missing:
        raise PdecDataError(f"the observations have no column {', '.join(missing)}",
                            hint=f"give columns {', '.join(need)} and some of the fields {', '.join(result.fields)}")
    fields = [f for f in result.fields if f in columns]
    if not fields:
        raise PdecDataError("the observations observe no field",
                            hint=f"add a column named after a field: {', '.join(result.fields)}")
    rows = len(columns[fields[0]])
    inputs = np.zeros((rows, len(result.variables)))
    for j, v in enumerate(result.variables):
        if v in columns:
            inputs[:, j] = columns[v]
    known = {p: r for p, r in result.parameters.items() if p not in names}
    try:
        check_range(inputs, result.variables, known)
    except ValueError as exc:
        raise PdecDataError(f"the observations: {exc}") from exc
    observed = np.stack([columns[f] for f in fields], axis=1)
    if not np.isfinite(observed).all() or not np.isfinite(inputs).all():
        raise PdecDataError("the observations hold a value that is not a finite number")
    return inputs, observed, [list(result.fields).index(f) for f in fields]
