"""Inverse problems: synthetic observations, identifiability checks and the report on discovered unknowns."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.errors import PdecRunError
from pdec.sampling import box_points

WEAK = 1e-6  # relative sensitivity below which an unknown is reported as barely moving the residuals
COLLINEAR = 0.9999  # |cosine| between two unknowns' residual sensitivities above which they are reported as tied


def sample_exact(
    compiled: Any, n: int, *, noise: float = 0.0, seed: int = 0, sampler: str = "sobol"
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Draw ``n`` observations of the exact solution inside the domain, with optional relative Gaussian noise.

    Args:
        compiled: a CompiledProblem whose spec has an ``exact:`` statement.
        n: number of points.
        noise: relative noise level (``u + noise * std(u) * randn``, the convention of Raissi et al.).
        seed: seed of both the points and the noise.
        sampler: point sampler (see pdec.sampling).

    Returns:
        points ``[n, d]``, values ``[n, k]`` and the names of the k fields that have an exact solution.
    """
    exact = compiled.problem.exact
    if not exact:
        raise PdecRunError(
            f"{compiled.problem.source.path} has no exact solution to sample",
            hint="add an `exact: u = ...` statement, or observe real data",
        )
    if n < 1 or not noise >= 0 or not math.isfinite(noise):  # NaN fails every comparison
        raise PdecRunError(f"need n >= 1 and noise >= 0, got n = {n}, noise = {noise}")
    points = box_points(n, compiled.bounds, {}, sampler, seed)
    with torch.no_grad():
        full = compiled.exact(torch.as_tensor(points, dtype=torch.float64)).cpu().double().numpy()
    columns = [i for i, f in enumerate(compiled.fields) if f in exact]
    values = full[:, columns]
    if noise:
        rng = np.random.default_rng(seed + 1)
        values = values + noise * values.std(axis=0) * rng.standard_normal(values.shape)
    return points, values, tuple(compiled.fields[i] for i in columns)


def write_csv(path: str | Path, names: Sequence[str], *columns: np.ndarray) -> None:
    """Write arrays side by side as a CSV file with a header row of ``names``."""
    table = np.column_stack(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([f"{v:.17g}" for v in row] for row in table)


def sensitivities(
    compiled: Any,
    net: Callable[[torch.Tensor], torch.Tensor],
    points: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, np.ndarray]:
    """Return each unknown's sensitivity vector: d(physics residuals)/d(unknown), scaled by the unknown's size.

    Central differences in the (constrained) value of each unknown; only the terms on ``points`` that are not data
    terms count. The scale is ``max(|value|, 1e-3)``, so each vector is the change of the residuals under a 100%
    change of the unknown.
    """
    theta = {k: v.detach() for k, v in compiled.unknowns.values().items()}
    data = {name for name, t in compiled.terms.items() if t.kind == "data"}

    def residual(values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = compiled.evaluate(net, points, targets, theta=values)
        return torch.cat([r.detach().reshape(-1) for name, r in out.items() if name not in data])

    out = {}
    for name, value in theta.items():
        scale = max(abs(float(value)), 1e-3)
        step = 1e-3 * scale
        up = residual({**theta, name: value + step})
        down = residual({**theta, name: value - step})
        out[name] = ((up - down) / (2 * step) * scale).double().cpu().numpy()
    out["<residual>"] = residual(theta).double().cpu().numpy()
    return out


def identifiability(sensitivity: Mapping[str, np.ndarray]) -> list[str]:
    """Warnings for unknowns that barely move the residuals, or move them exactly as another unknown does."""
    r = sensitivity["<residual>"]
    base = math.sqrt(float(np.mean(r**2))) + 1e-30
    vectors = {k: v for k, v in sensitivity.items() if k != "<residual>"}
    warnings = []
    for name, v in vectors.items():
        rel = math.sqrt(float(np.mean(v**2))) / base
        if rel < WEAK:
            warnings.append(
                f"unknown '{name}' barely changes the residuals (relative sensitivity {rel:.1e}): "
                "it is likely not identifiable from this data"
            )
    names = list(vectors)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            na, nb = np.linalg.norm(vectors[a]), np.linalg.norm(vectors[b])
            if na > 0 and nb > 0 and abs(float(vectors[a] @ vectors[b])) / (na * nb) > COLLINEAR:
                warnings.append(
                    f"unknowns '{a}' and '{b}' change the residuals in the same way: "
                    "only a combination of them is identifiable from this data"
                )
    return warnings


def unknowns_table(unknowns: Sequence[Any], initial: Mapping[str, float], final: Mapping[str, float]) -> list[dict]:
    """One row per unknown: initial, discovered and true value, and the relative error when the truth is known."""
    rows = []
    for u in unknowns:
        row = {"name": u.name, "initial": initial[u.name], "discovered": final[u.name], "true": u.true}
        row["relative_error"] = None if u.true in (None, 0) else abs(final[u.name] - u.true) / abs(u.true)
        rows.append(row)
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The unknowns table as aligned text."""
    if not rows:
        return ""

    def num(v: Any, fmt: str = ".6g") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [f"{'unknown':<12} {'initial':>12} {'discovered':>14} {'true':>12} {'rel. error':>11}"]
    for r in rows:
        err = "-" if r["relative_error"] is None else f"{100 * r['relative_error']:.3g}%"
        lines.append(
            f"{r['name']:<12} {num(r['initial']):>12} {num(r['discovered'], '.8g'):>14} {num(r['true']):>12} {err:>11}"
        )
    return "\n".join(lines)
