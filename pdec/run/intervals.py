"""Inverse problems after training: the residuals linearised in the unknowns and the network -> intervals.

One float64 linearisation of the trained run (:func:`linearise`) serves both the identifiability check
(pdec.train.inverse: the equations' sensitivities to each unknown) and the confidence intervals (:func:`estimate`).
The estimate is the sampling covariance of the weighted least-squares estimator that the training loss defines,
linearised at the trained point in the unknowns and the network's trailing parameters (docs/training.md,
"Confidence intervals for unknowns"): only the readings carry noise, its variance is estimated from the data
residuals, and the equations' rows enter with their training weights but no noise of their own.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

LEVEL = 0.95  # the confidence level reported
RCOND = 1e-9  # singular values of the column-scaled Jacobian below this (relative) are treated as zero
DETERMINED = 1e-6  # an unknown whose direction has more than this share in the dropped directions is not determined
CORRELATED = 0.99  # |correlation| above which a pair of unknowns is reported
STEP = 1e-3  # central-difference step for an unknown, relative to its size
NETWORK = 2000  # the most network parameters the intervals linearise in (the trailing ones: output layer first)
POINTS = 2000  # the most points of an equation's or condition's point set the intervals' linearisation takes
CHUNK = 128  # Jacobian rows per batched reverse pass (taken a few points at a time)


@dataclass(frozen=True)
class Block:
    """The rows of one term in the stacked residual vector.

    Attributes:
        rows: its slice of the vector (point-major: point i, column j is row ``start + i * columns + j``).
        columns: residual columns per point (the observed fields of a data set).
        data: whether the term compares the network with readings.
        fields: the observed fields of a data term, one per column (empty for the others).
    """

    rows: slice
    columns: int
    data: bool
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Linearisation:
    """The raw residuals of a trained run and their derivatives, in float64.

    Attributes:
        blocks: term name -> its rows.
        residual: the stacked raw residuals ``r`` ``[M]`` (unweighted).
        jacobian: ``dr/dq`` ``[M, P]``; the first columns are the unknowns' (constrained) values, then the network's
            trailing parameters when the linearisation includes them (:func:`linearise`).
        unknowns: the unknowns' names (the first columns) and values.
    """

    blocks: dict[str, Block]
    residual: np.ndarray
    jacobian: np.ndarray
    unknowns: dict[str, float]

    def sensitivities(self) -> dict[str, np.ndarray]:
        """The equations' and conditions' rows of each unknown's column, scaled by ``|value|`` (1 at 0).

        The change of the residuals (data terms left out) under a 100% change of the unknown, and ``<residual>``:
        the residuals themselves; what pdec.inverse.assess reads.
        """
        every = np.arange(self.residual.size)
        rows = np.concatenate([every[b.rows] for b in self.blocks.values() if not b.data] or [every[:0]])
        out = {}
        for i, (name, value) in enumerate(self.unknowns.items()):
            out[name] = self.jacobian[rows, i] * (abs(value) or 1.0)
        out["<residual>"] = self.residual[rows]
        return out


def linearise(
    compiled: Any,
    net: Callable[[torch.Tensor], torch.Tensor],
    points: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor] | None = None,
    network: int = 0,
) -> Linearisation:
    """Every residual row's derivatives in each unknown's value and in up to ``network`` of the network's parameters.

    Runs on a float64 copy of ``net``, with the points and readings in float64. The unknowns' columns are central
    differences (step ``STEP`` times the unknown's size, 1 at 0; exact up to round-off for a residual linear or
    quadratic in the unknown, as ``a u_xx`` is). The network's columns are exact, by reverse mode: its trailing
    parameters (output layer first, then the layers before it), as many whole tensors as fit in ``network``; none
    when it is 0. Each row depends on its own point only (as for pdec.jacobian), so they are taken a few points at
    a time, with one batched backward pass per chunk of about ``CHUNK`` rows.

    Args:
        compiled: the CompiledProblem (its ``evaluate`` and ``terms``).
        net: the trained network.
        points: point-set name -> points.
        targets: data point-set name -> readings (default: the compiled problem's).
        network: the most network parameters to differentiate in.
    """
    net = copy.deepcopy(net).double() if isinstance(net, torch.nn.Module) else net
    points = {k: v.detach().double() for k, v in points.items()}
    targets = {} if targets is None else {k: v.detach().double() for k, v in targets.items()}
    found = compiled.unknowns.values()  # unknown functions (networks) are held fixed: float64 copies
    theta = {k: torch.as_tensor(v.detach(), dtype=torch.float64) for k, v in found.items() if torch.is_tensor(v)}
    functions = {k: copy.deepcopy(v).double() for k, v in found.items() if not torch.is_tensor(v)}

    def residual(values: Mapping[str, torch.Tensor], s: str, rows: slice = slice(None)) -> dict[str, torch.Tensor]:
        """The residuals of the terms on point set ``s``, at its points ``rows``."""
        given = {s: targets[s][rows]} if s in targets else None
        return compiled.evaluate(net, {s: points[s][rows]}, given, theta={**values, **functions})

    layout = _Layout(compiled, {s: residual(theta, s) for s in points})
    columns = []
    for name, value in theta.items():
        step = STEP * (abs(float(value)) or 1.0)
        up = {s: residual({**theta, name: value + step}, s) for s in points}
        down = {s: residual({**theta, name: value - step}, s) for s in points}
        columns.append((layout.stack(up) - layout.stack(down)) / (2 * step))
    jacobian = np.column_stack(columns) if columns else np.zeros((layout.size, 0))
    params = trailing(net, network) if isinstance(net, torch.nn.Module) else []
    if params:
        found = np.zeros((layout.size, sum(p.numel() for p in params)))
        for s, x in points.items():
            step = max(1, CHUNK // max(1, layout.width(s)))
            for start in range(0, len(x), step):
                rows = slice(start, min(start + step, len(x)))
                index, vector = layout.rows(s, rows, residual(theta, s, rows))
                found[index] = _backward_rows(vector, params)
        jacobian = np.hstack([jacobian, found])
    unknowns = {k: float(v) for k, v in theta.items()}
    return Linearisation(layout.blocks, layout.vector, jacobian, unknowns)


class _Layout:
    """Where each (term, point set) piece sits in the stacked residual vector: term by term, sets in order."""

    def __init__(self, compiled: Any, found: Mapping[str, Mapping[str, torch.Tensor]]) -> None:
        self.start: dict[tuple[str, str], int] = {}
        self.columns: dict[str, int] = {}
        self.blocks: dict[str, Block] = {}
        size = 0
        for name in compiled.terms:
            begin = size
            for s, out in found.items():
                if name in out:
                    r = out[name]
                    self.columns[name] = r.reshape(len(r), -1).shape[1]
                    self.start[name, s] = size
                    size += r.numel()
            if size > begin:
                term = compiled.terms[name]
                data = term.kind.value == "data"
                self.blocks[name] = Block(slice(begin, size), self.columns[name], data, term.fields if data else ())
        self.size = size
        self.vector = self.stack(found)

    def stack(self, found: Mapping[str, Mapping[str, torch.Tensor]]) -> np.ndarray:
        """The residuals of every piece, stacked, as float64 numbers."""
        out = np.zeros(self.size)
        for (name, s), start in self.start.items():
            r = found[s][name].detach().reshape(-1).cpu().numpy()
            out[start : start + r.size] = r
        return out

    def width(self, s: str) -> int:
        """The residual rows one point of set ``s`` has (over its terms)."""
        return sum(self.columns[name] for name, t in self.start if t == s)

    def rows(self, s: str, points: slice, found: Mapping[str, torch.Tensor]) -> tuple[np.ndarray, torch.Tensor]:
        """The vector's row indices of set ``s``'s ``points``, and their residuals (in that order)."""
        index, parts = [], []
        for (name, t), start in self.start.items():
            if t == s:
                c = self.columns[name]
                r = found[name].reshape(-1)
                index.append(start + points.start * c + np.arange(r.numel()))
                parts.append(r)
        return np.concatenate(index), torch.cat(parts)


def trailing(net: torch.nn.Module, limit: int) -> list[torch.nn.Parameter]:
    """The network's last parameter tensors (output layer first), as many as fit in ``limit`` numbers in all."""
    chosen, total = [], 0
    for param in reversed([p for p in net.parameters() if p.requires_grad]):
        if total + param.numel() > limit:
            break
        chosen.append(param)
        total += param.numel()
    return chosen


def _backward_rows(vector: torch.Tensor, params: Sequence[torch.Tensor]) -> np.ndarray:
    """``d vector / d params`` ``[len(vector), sum numel]``: one backward pass batched over the rows."""
    n = len(vector)
    if not vector.requires_grad:
        return np.zeros((n, sum(p.numel() for p in params)))
    seeds = torch.eye(n, dtype=vector.dtype, device=vector.device)
    try:
        with warnings.catch_warnings():  # a batching rule missing for some op: torch loops over the rows instead
            warnings.simplefilter("ignore", UserWarning)
            grads = torch.autograd.grad(
                vector, params, seeds, retain_graph=True, allow_unused=True, is_grads_batched=True
            )
    except RuntimeError:  # an op vmap cannot batch at all: one backward pass per row
        rows = [torch.autograd.grad(vector, params, seed, retain_graph=True, allow_unused=True) for seed in seeds]
        grads = tuple(
            None if row[0] is None else torch.stack(row) for row in zip(*rows, strict=True)
        )
    parts = [
        torch.zeros(n, p.numel(), dtype=vector.dtype) if g is None else g.reshape(n, -1)
        for g, p in zip(grads, params, strict=True)
    ]
    return torch.cat(parts, dim=1).detach().cpu().numpy()


@dataclass(frozen=True)
class Interval:
    """A confidence interval for one unknown: ``value +- half_width`` at ``level``.

    ``half_width`` and ``std_error`` are None when the data do not determine the unknown (its direction lies in the
    linearised problem's null space): no finite interval exists, so none is printed.
    """

    name: str
    value: float
    half_width: float | None
    std_error: float | None
    level: float = LEVEL

    @property
    def determined(self) -> bool:
        """Whether the data determine the unknown (it has a finite interval)."""
        return self.half_width is not None

    @property
    def low(self) -> float | None:
        """The interval's lower end."""
        return None if self.half_width is None else self.value - self.half_width

    @property
    def high(self) -> float | None:
        """The interval's upper end."""
        return None if self.half_width is None else self.value + self.half_width

    def __contains__(self, x: float) -> bool:
        return self.half_width is not None and abs(x - self.value) <= self.half_width

    def __str__(self) -> str:
        if self.half_width is None:
            return f"{self.name} = {self.value:.6g} (not determined by the data)"
        if not self.half_width > 0:
            return f"{self.name} = {self.value:.8g} +- 0 ({100 * self.level:g}%)"
        decimals = max(0, 1 - math.floor(math.log10(self.half_width)))
        if decimals > 12 or self.half_width >= 100:  # far from unit scale: significant digits instead
            return f"{self.name} = {self.value:.6g} +- {self.half_width:.2g} ({100 * self.level:g}%)"
        return f"{self.name} = {self.value:.{decimals}f} +- {self.half_width:.{decimals}f} ({100 * self.level:g}%)"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``unknowns.json``)."""
        return {"half_width": self.half_width, "std_error": self.std_error, "low": self.low, "high": self.high,
                "level": self.level, "determined": self.determined}


@dataclass(frozen=True)
class Intervals:
    """The confidence intervals of a run's unknowns, their correlations and the noise estimated from the readings.

    ``intervals["k"]`` is one ``Interval``; ``str(intervals)`` the lines the run prints.

    Attributes:
        unknowns: name -> Interval.
        correlation: name -> name -> correlation of the two estimates (None where either is not determined).
        noise: data group (``data:obs[y]``) -> estimated standard deviation of its readings.
        parameters: data group -> effective number of parameters fitted to it (the trace of its hat matrix).
        dof: degrees of freedom of the noise estimate (readings minus effective parameters).
        level: the confidence level.
    """

    unknowns: dict[str, Interval]
    correlation: dict[str, dict[str, float | None]]
    noise: dict[str, float | None]
    parameters: dict[str, float]
    dof: float
    level: float = LEVEL
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Interval:
        return self.unknowns[name]

    def __iter__(self) -> Any:
        return iter(self.unknowns)

    def __len__(self) -> int:
        return len(self.unknowns)

    def __str__(self) -> str:
        lines = [str(i) for i in self.unknowns.values()]
        names = list(self.unknowns)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                rho = self.correlation[a][b]
                lines.append(f"correlation {a}, {b}: {'-' if rho is None else format(rho, '+.3f')}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``unknowns.json``, beside the unknowns table)."""
        return {"level": self.level, "dof": self.dof, "noise": self.noise, "parameters": self.parameters,
                "correlation": self.correlation, "method": "linearised weighted least squares (sandwich)"}

    @staticmethod
    def from_report(report: Mapping[str, Any]) -> Intervals | None:
        """Rebuild the record from a run's ``unknowns.json`` (None when it holds no intervals)."""
        saved = report.get("intervals") if isinstance(report, Mapping) else None
        if not isinstance(saved, Mapping) or not isinstance(report.get("unknowns"), list):
            return None
        level = float(saved.get("level", LEVEL))
        found = {}
        for row in report["unknowns"]:
            if not isinstance(row, Mapping) or "name" not in row or "discovered" not in row:
                return None
            given = row.get("interval") if isinstance(row.get("interval"), Mapping) else {}
            found[row["name"]] = Interval(row["name"], row["discovered"], given.get("half_width"),
                                          given.get("std_error"), level)
        return Intervals(found, dict(saved.get("correlation", {})), dict(saved.get("noise", {})),
                         dict(saved.get("parameters", {})), float(saved.get("dof") or 0.0), level,
                         list(report.get("warnings", [])))


def estimate(lin: Linearisation, weights: Mapping[str, float], level: float = LEVEL) -> Intervals | None:
    """Confidence intervals for the unknowns from a linearisation that includes the network's parameters.

    The training loss is ``sum_k lambda_k mean(r_k^2)``: a weighted least-squares problem with row weights
    ``w = lambda_k / rows_k``. Linearised, its estimate moves by ``dq = A^+ J^T W e`` for noise ``e`` on the
    readings (``A = J^T W J``), so ``Cov(q) = A^+ J^T W S W J A^+`` with ``S`` the readings' noise variances (each
    data set's observed field its own ``s^2``, zero on the equations' rows: a sandwich, since the equations' rows
    have no noise). ``s^2 = RSS / (n - p)``, with ``p`` the trace of the hat matrix over that group's rows (the
    effective number of parameters fitted to it). Student's t quantile on the pooled degrees of freedom. ``A`` is
    inverted through the SVD of the column-scaled ``W^(1/2) J``, singular values below ``RCOND`` dropped; an unknown
    with a share above ``DETERMINED`` in the dropped directions is not determined. None without readings.
    """
    groups = _data_groups(lin)
    if not groups or lin.jacobian.shape[1] <= len(lin.unknowns):
        return None
    w = np.zeros(lin.residual.size)
    for name, block in lin.blocks.items():
        w[block.rows] = weights.get(name, 1.0) / max(1, block.rows.stop - block.rows.start)
    b = np.sqrt(w)[:, None] * lin.jacobian
    norms = np.linalg.norm(b, axis=0)
    norms[norms == 0] = 1.0  # a column of zeros: its singular value is 0, so it is dropped and not determined
    u, s, vt = np.linalg.svd(b / norms, full_matrices=False)
    keep = s > RCOND * s[0] if s.size and s[0] > 0 else np.zeros(s.size, bool)
    u, s, v = u[:, keep], s[keep], vt[keep].T
    noise, parameters, variance, dof = _noise(lin.residual, groups, (u**2).sum(axis=1), w)
    n = len(lin.unknowns)
    g = v[:n] / s / norms[:n, None]
    cov = g @ (u.T @ (variance[:, None] * u)) @ g.T
    share = 1.0 - (v[:n] ** 2).sum(axis=1)  # of each unknown's axis in the dropped directions
    ok = (share < DETERMINED) & np.isfinite(np.diag(cov)) & (dof > 0)
    found = _intervals(lin.unknowns, cov, ok, _t_quantile(0.5 + level / 2, dof) if dof > 0 else math.nan, level)
    sd = np.sqrt(np.where(ok, np.abs(np.diag(cov)), np.nan))
    rho = cov / np.outer(sd, sd)
    names = list(lin.unknowns)
    correlation = {a: {b: float(rho[i, j]) if np.isfinite(rho[i, j]) else None for j, b in enumerate(names)}
                   for i, a in enumerate(names)}
    exact = [f"{k} ({groups[k].size} readings, {parameters[k]:.3g} effective parameters)" for k, v in noise.items()
             if v is None]
    if exact:  # no residual left to estimate the noise from: every interval is undetermined, for that reason
        return Intervals(found, correlation, noise, parameters, float(dof), level, [
            f"no confidence intervals: the network fits the readings of {', '.join(exact)} exactly, so their noise "
            "cannot be estimated"])
    return Intervals(found, correlation, noise, parameters, float(dof), level, _warnings(found, correlation))


def _noise(
    residual: np.ndarray, groups: Mapping[str, np.ndarray], hat: np.ndarray, w: np.ndarray
) -> tuple[dict[str, float | None], dict[str, float], np.ndarray, float]:
    """Each group's noise and effective parameters, every row's weighted noise variance, the pooled freedom.

    ``s = sqrt(RSS / (n - p))`` (None when ``n - p < 1/2``), ``p`` the group's share of the hat matrix's trace; the
    variance is 0 off the readings; the pooled degrees of freedom are ``sum (n - p)``.
    """
    noise, parameters, variance, dof = {}, {}, np.zeros(residual.size), 0.0
    for label, rows in groups.items():
        parameters[label] = float(hat[rows].sum())
        free = rows.size - parameters[label]
        s2 = float((residual[rows] ** 2).sum() / free) if free > 0.5 else math.nan
        noise[label] = math.sqrt(s2) if math.isfinite(s2) else None
        variance[rows] = w[rows] * s2
        dof += max(free, 0.0)
    return noise, parameters, variance, dof


def _intervals(
    unknowns: Mapping[str, float], cov: np.ndarray, ok: np.ndarray, quantile: float, level: float
) -> dict[str, Interval]:
    """One Interval per unknown: ``quantile`` standard errors either side, none where ``ok`` is false."""
    found = {}
    for i, (name, value) in enumerate(unknowns.items()):
        se = math.sqrt(max(cov[i, i], 0.0)) if ok[i] else None
        found[name] = Interval(name, value, None if se is None else quantile * se, se, level)
    return found


def _data_groups(lin: Linearisation) -> dict[str, np.ndarray]:
    """``data:NAME[field]`` -> its rows: each data set's observed field has its own noise level."""
    groups = {}
    for name, block in lin.blocks.items():
        if block.data:
            rows = np.arange(block.rows.start, block.rows.stop)
            for j in range(block.columns):
                label = block.fields[j] if j < len(block.fields) else str(j)
                groups[f"{name}[{label}]"] = rows[j :: block.columns]
    return groups


def _t_quantile(p: float, dof: float) -> float:
    """Student's t quantile (scipy), the normal one beyond a million degrees of freedom."""
    from scipy import stats  # a dependency of pdec; imported here, where it is needed, not at import time

    return float(stats.t.ppf(p, dof)) if dof < 1e6 else float(stats.norm.ppf(p))


def _warnings(found: Mapping[str, Interval], correlation: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    """Unknowns whose interval is wider than their value, and pairs correlated above ``CORRELATED``."""
    out = []
    names = list(found)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rho = correlation[a][b]
            if rho is not None and abs(rho) > CORRELATED:
                out.append(
                    f"unknowns '{a}' and '{b}' are strongly correlated (correlation {rho:+.4f}): the data determine "
                    f"a combination of them ({'a sum' if rho < 0 else 'a difference'}, in the linearised sense) far "
                    "better than each, so their intervals are wide"
                )
    for name, interval in found.items():
        if interval.half_width is None:
            out.append(f"unknown '{name}' has no confidence interval: the data do not determine it")
        elif interval.half_width > abs(interval.value):
            out.append(
                f"unknown '{name}': its {100 * interval.level:g}% interval ({interval}) is wider than its value, so "
                "the data do not determine even its sign"
            )
    return out


def describe(rows: Sequence[Mapping[str, Any]], intervals: Intervals) -> list[dict[str, Any]]:
    """The unknowns table's rows, each with its interval (``unknowns.json``)."""
    return [{**row, "interval": intervals[row["name"]].to_dict()} if row["name"] in intervals.unknowns else dict(row)
            for row in rows]


__all__ = ["Interval", "Intervals", "Linearisation", "describe", "estimate", "linearise"]
