"""Unknown functions after training: their values on a grid of their variables, errors, CSV files, plots, callables.

An unknown function (``unknown k(x) = 1``) is a network of its own (pdec.compiler.unknowns.FunctionNet); a Result
holds each as a :class:`LearnedFunction` (``result.functions["k"]``), which takes points of the function's variables.
:func:`tabulate` evaluates it on a regular grid of its variables' intervals (``GRID`` points per axis), beside its
``true`` expression when the spec gives one; the run directory gets ``functions/NAME.csv`` (the grid, the values and
the true values), a summary in ``unknowns.json`` and ``plots/function_NAME.png`` (one or two variables).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

GRID = {1: 201, 2: 101, 3: 21, 4: 11}  # grid points per axis, by the number of the function's variables
FUNCTIONS = "functions"  # the run directory's folder of function tables


class LearnedFunction:
    """A trained unknown function: ``f(points)`` at points of its variables ``args`` (columns in that order).

    A tensor ``[N, k]`` gives a tensor ``[N, 1]`` (in the network's dtype, differentiable); anything array-like
    (``[N, k]``, or ``[N]`` for a function of one variable) gives a float64 array ``[N]``. ``net`` is the network.
    """

    def __init__(self, name: str, args: Sequence[str], net: torch.nn.Module) -> None:
        self.name, self.args, self.net = name, tuple(args), net

    def __call__(self, points: Any) -> Any:
        """The function's values at ``points`` (see the class)."""
        p = next(self.net.parameters())
        if isinstance(points, torch.Tensor):
            return self.net(points.reshape(-1, len(self.args)).to(p.device, p.dtype))
        x = np.asarray(points, dtype=float)
        x = x.reshape(-1, 1) if x.ndim <= 1 and len(self.args) == 1 else np.atleast_2d(x)
        if x.shape[1] != len(self.args):
            raise ValueError(f"{self} takes {len(self.args)} columns ({', '.join(self.args)}), got {x.shape[1]}")
        with torch.no_grad():
            return self.net(torch.as_tensor(x, dtype=p.dtype, device=p.device)).reshape(-1).cpu().double().numpy()

    def __repr__(self) -> str:
        return f"LearnedFunction({self.name}({', '.join(self.args)}))"


@dataclass(frozen=True)
class FunctionTable:
    """A function on the grid of its variables: ``points`` ``[N, k]``, ``values`` ``[N]``, ``true`` ``[N]`` or None."""

    name: str
    args: tuple[str, ...]
    points: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    true: np.ndarray | None = field(default=None, repr=False)

    @property
    def relative_error(self) -> float | None:
        """``||values - true|| / ||true||`` over the grid (the norm of the difference where the truth is zero)."""
        if self.true is None:
            return None
        norm = float(np.linalg.norm(self.true))
        return float(np.linalg.norm(self.values - self.true)) / (norm if norm > 0 else 1.0)

    def summary(self, path: str) -> dict[str, Any]:
        """What ``unknowns.json`` says of the function: variables, grid, range of values, error, its CSV file."""
        found = {
            "args": list(self.args),
            "grid": [GRID[len(self.args)]] * len(self.args),
            "min": float(self.values.min()),
            "max": float(self.values.max()),
            "mean": float(self.values.mean()),
            "csv": path,
        }
        if self.true is not None:
            found["relative_l2_error"] = self.relative_error
        return found


def grid(bounds: Sequence[tuple[float, float]]) -> np.ndarray:
    """The regular grid ``[n^k, k]`` over the intervals (``n = GRID[k]`` per axis, ends included, last axis fastest)."""
    axes = [np.linspace(lo, hi, GRID[len(bounds)]) for lo, hi in bounds]
    return np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], axis=1)


def tabulate(
    function: LearnedFunction, bounds: Sequence[tuple[float, float]], truth: Callable | None = None
) -> FunctionTable:
    """The function on the grid of its variables' intervals, beside ``truth`` (a torch function of the columns)."""
    points = grid(bounds)
    true = None
    if truth is not None:
        with torch.no_grad():
            true = truth(torch.as_tensor(points, dtype=torch.float64)).reshape(-1).cpu().double().numpy()
    return FunctionTable(function.name, function.args, points, function(points), true)


def write_table(path: Path, table: FunctionTable) -> None:
    """Write the grid, the values and (when known) the true values as CSV (``x,k`` or ``x,k,true``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [table.points[:, i] for i in range(len(table.args))] + [table.values]
    names = [*table.args, table.name] + (["true"] if table.true is not None else [])
    if table.true is not None:
        columns.append(table.true)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([f"{v:.17g}" for v in row] for row in np.column_stack(columns))


def plot_table(path: Path, table: FunctionTable) -> None:
    """The function against its truth: a line in one variable, heatmaps (found, true, error) in two; else nothing."""
    if len(table.args) > 2:
        return
    from matplotlib.figure import Figure

    if len(table.args) == 1:
        fig = Figure(figsize=(6, 3.8), layout="constrained")
        ax = fig.add_subplot()
        x = table.points[:, 0]
        if table.true is not None:
            ax.plot(x, table.true, "k-", lw=2, label="true")
        ax.plot(x, table.values, "r--", lw=1.5, label="discovered")
        ax.set_xlabel(table.args[0])
        ax.set_ylabel(table.name)
        ax.legend(fontsize="small")
        fig.savefig(path, dpi=120)
        return
    n = GRID[2]
    panels = [(table.values, f"{table.name} (discovered)")]
    if table.true is not None:
        panels += [(table.true, f"{table.name} (true)"), (np.abs(table.values - table.true), "|error|")]
    fig = Figure(figsize=(4.4 * len(panels), 3.6), layout="constrained")
    xs, ys = table.points[:, 0].reshape(n, n), table.points[:, 1].reshape(n, n)
    for i, (z, title) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        art = ax.pcolormesh(xs, ys, z.reshape(n, n), shading="auto", cmap="magma" if i == 2 else "viridis")
        fig.colorbar(art, ax=ax)
        ax.set_xlabel(table.args[0])
        ax.set_ylabel(table.args[1])
        ax.set_title(title, fontsize="small")
    fig.savefig(path, dpi=120)


def from_checkpoint(state: dict[str, Any], variables: Sequence[str]) -> dict[str, LearnedFunction]:
    """The unknown functions of a checkpoint's ``unknowns`` state (``functions.NAME.*``), rebuilt with their weights."""
    from pdec.compiler.unknowns import FunctionNet

    found: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key.startswith("functions."):
            name, _, rest = key[len("functions.") :].partition(".")
            found.setdefault(name, {})[rest] = value
    out = {}
    for name, own in found.items():
        net = FunctionNet.from_state(own).eval()
        out[name] = LearnedFunction(name, [variables[int(c)] for c in own["columns"]], net)
    return out


__all__ = ["FUNCTIONS", "GRID", "FunctionTable", "LearnedFunction", "from_checkpoint", "grid", "plot_table", "tabulate"]
