"""Results: a trained run -> the Result record, its run directory (history, metrics, checkpoint, plots), predictions.

Run directory layout (``runs/<spec stem>-<timestamp>`` by default)::

    spec.pde         copy of the spec text
    settings.json    the resolved settings
    history.csv      one row per optimiser step (see History)
    metrics.json     final metrics
    checkpoint.pt    model, optimiser, weights state, RNG states, step, history (torch.save)
    plots/           loss.png, weights.png, solution.png
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from pdec.core.errors import PdecRunError
from pdec.core.intervals import LogInterval
from pdec.core.settings import DTYPES, Settings, Stage, torch_dtype
from pdec.geometry import Domain, sobol
from pdec.nn.networks import MLP
from pdec.run.discovered import Discovery
from pdec.run.functions import LearnedFunction, from_checkpoint
from pdec.run.history import History
from pdec.run.intervals import Intervals
from pdec.run.scales import read_scales, rescaled, rescaled_functions

SPEC = "spec.pde"
SETTINGS = "settings.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
UNKNOWNS = "unknowns.json"
CHECKPOINT = "checkpoint.pt"
PLOTS = "plots"


@dataclass
class Result:
    """A trained run: the network, the discovered unknowns, the history and the final metrics.

    ``predict(points)`` evaluates the network at ``[N, d]`` physical points (columns in ``variables`` order) and
    returns ``[N, len(fields)]``. ``intervals`` holds the unknowns' confidence intervals when the spec has readings
    (``print(result.intervals["k"])``: ``k = 0.4012 +- 0.0031 (95%)``; pdec.run.intervals.Intervals), else None.
    ``functions`` holds the unknown functions (``result.functions["k"]([[0.5]])``; pdec.run.functions.LearnedFunction).
    ``discovery`` holds the discovered equations of a spec with a ``discover(...)`` library (pdec.run.discovered).
    ``parameters`` holds a parametric run's parameters (``param nu in [lo, hi]``) with their trained ranges: the last
    columns of ``variables``; ``predict(points, nu=0.01)`` gives one value for every point.
    """

    net: MLP
    variables: tuple[str, ...]
    fields: tuple[str, ...]
    unknowns: dict[str, float]
    history: History
    metrics: dict[str, Any]
    run_dir: Path | None
    settings: Settings
    interrupted: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    intervals: Intervals | None = None
    functions: dict[str, LearnedFunction] = field(default_factory=dict)
    discovery: Discovery | None = None
    parameters: dict[str, tuple[float, float]] = field(default_factory=dict)

    def predict(self, points: Any, **values: float) -> np.ndarray:
        """Evaluate the trained fields at ``points`` (array-like ``[N, d]`` or ``[d]``); returns a float64 array.

        A parametric run takes its parameters as columns of ``points``, or one value each by keyword
        (``predict(xt, nu=0.01)``: ``points`` then holds the other columns). ValueError for the wrong number of
        columns, a name that is not a parameter, or a parameter value outside its trained range.
        """
        from pdec.run.parametric import full_points

        return self.net_values(full_points(points, self.variables, self.parameters, values))

    def net_values(self, points: np.ndarray) -> np.ndarray:
        """The network at ``[N, len(variables)]`` points, unchecked: a float64 array ``[N, len(fields)]``."""
        p = next(self.net.parameters())
        x = torch.as_tensor(np.asarray(points, dtype=float), dtype=p.dtype, device=p.device)
        with torch.no_grad():
            return self.net(x).cpu().double().numpy()


# ---------------------------------------------------------------------------------------------------------------- IO


def settings_from_dict(data: Mapping[str, Any]) -> Settings:
    """Rebuild Settings from ``Settings.to_dict()`` output (as stored in settings.json)."""
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in data.items() if k in known}
    values["layers"] = tuple(values.get("layers", Settings.layers))
    values["function_layers"] = tuple(values.get("function_layers", Settings.function_layers))
    values.setdefault("inputs", "centred")  # runs from before the setting trained on [-1, 1]
    values["points"] = MappingProxyType(dict(values.get("points", {})))
    values["weights"] = MappingProxyType(dict(values.get("weights", {})))
    values["stages"] = tuple(Stage(tuple(s["terms"]), int(s["steps"])) for s in values.get("stages", ()))
    return Settings(**values)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (sorted keys, indented; NaN/Inf written as null)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_finite(data), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _finite(value: Any) -> Any:
    """Replace non-finite floats by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def save_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    """``torch.save`` atomically: write a temporary file, then rename it over the previous checkpoint.

    The state is converted to plain Python values and tensors first (``plain``), so that it loads with
    ``torch.load(weights_only=True)``. A failed write (a full disk) leaves the previous checkpoint intact.

    Raises:
        PdecRunError: the checkpoint cannot be written.
    """
    tmp = path.with_suffix(".tmp")
    try:
        torch.save(plain(dict(state)), tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        tmp.unlink(missing_ok=True)
        raise PdecRunError(
            f"cannot write the checkpoint '{path}': {_reason(exc)}",
            hint="free some disk space or choose another --out; the previous checkpoint is kept",
        ) from exc


_PLAIN = frozenset({float, int, bool, type(None)})


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays and str subclasses made plain (weights_only-loadable)."""
    if type(value) in _PLAIN:  # most of a checkpoint: the history's numbers
        return value
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return str(value)  # torch.__version__ is a str subclass the safe loader refuses
    return value


def _reason(exc: BaseException) -> str:
    """A one-line reason for an OS or torch write error."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


CHECKPOINT_KEYS = ("meta", "net", "history")
RESUME_KEYS = ("unknowns", "optimizer", "phase", "balancer", "step", "lr_scale", "rollbacks", "elapsed")
META_KEYS = ("variables", "fields", "bounds", "layers", "activation", "dtype")


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """Load ``run_dir/checkpoint.pt`` onto the CPU with ``weights_only=True`` (a checkpoint cannot run code).

    Raises:
        PdecRunError: the checkpoint is missing, unreadable, not a pdec checkpoint, or holds anything but
            plain values and tensors.
    """
    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise PdecRunError(f"no checkpoint in '{run_dir}'", hint="pass the run directory a `pdec run` created")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means an unusable checkpoint
        raise PdecRunError(
            f"cannot read checkpoint '{path}': {_reason(exc)}",
            hint="pdec loads only checkpoints of plain values and tensors; never load one from a stranger",
        ) from exc
    _check_checkpoint(state, path)
    return state


def _check_checkpoint(state: Any, path: Path) -> None:
    """Raise PdecRunError unless ``state`` has the keys of a pdec checkpoint."""
    missing = [] if isinstance(state, Mapping) else list(CHECKPOINT_KEYS)
    if not missing:
        missing = [k for k in CHECKPOINT_KEYS if k not in state]
        meta = state.get("meta")
        missing += [f"meta.{k}" for k in META_KEYS if not isinstance(meta, Mapping) or k not in meta]
    if missing:
        raise PdecRunError(
            f"'{path}' is not a pdec checkpoint (missing {', '.join(missing)})",
            hint="pass a run directory `pdec run` wrote",
        )


def load_result(run_dir: str | Path) -> Result:
    """Load a finished (or interrupted) run from its directory, without the spec's compiler: for prediction."""
    run_dir = Path(run_dir)
    state = load_checkpoint(run_dir)
    meta = state["meta"]
    if meta.get("part_of"):  # one window of a time-marched run: its network starts from the windows before it
        raise PdecRunError(f"'{run_dir}' holds one time window of the run in '{meta['part_of']}'",
                           hint=f"load the whole run: {meta['part_of']}")
    net = _network(meta, state["net"], run_dir)
    functions = from_checkpoint(state.get("unknowns", {}), tuple(meta["variables"]))
    scales = read_scales(run_dir)
    if scales is not None:  # trained non-dimensionalised: predictions in the user's units
        net = rescaled(net, scales, tuple(meta["variables"]), tuple(meta["fields"]))
        functions = rescaled_functions(functions, scales)
    metrics_path = run_dir / METRICS
    metrics = _read_json(metrics_path) if metrics_path.is_file() else {}
    settings = read_settings(run_dir)
    return Result(
        net,
        tuple(meta["variables"]),
        tuple(meta["fields"]),
        dict(state.get("unknowns_floats", {})),
        History.unpacked(state["history"]),
        metrics,
        run_dir,
        settings,
        interrupted=not state.get("finished", False),
        intervals=Intervals.from_report(_read_json(run_dir / UNKNOWNS)) if (run_dir / UNKNOWNS).is_file() else None,
        functions=functions,
        parameters={name: saved_bounds(meta)[name] for name in meta.get("parameters", ())},
    )


def saved_bounds(meta: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """A checkpoint's ``{variable: (lo, hi)}``, a ``log`` parameter's a pdec.core.intervals.LogInterval again."""
    logged = set(meta.get("log_parameters", ()))
    return {v: LogInterval(*b) if v in logged else tuple(b) for v, b in meta["bounds"].items()}


def read_settings(run_dir: Path) -> Settings:
    """The settings a run directory stores (PdecRunError when settings.json is missing or invalid)."""
    data = _read_json(Path(run_dir) / SETTINGS)
    try:
        return settings_from_dict(data)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise PdecRunError(f"'{Path(run_dir) / SETTINGS}' holds invalid settings: {exc}") from exc


def _network(meta: Mapping[str, Any], weights: Mapping[str, Any], run_dir: Path) -> torch.nn.Module:
    """Rebuild the trained network from a checkpoint's meta and weights (PdecRunError when they do not fit)."""
    try:
        if meta["dtype"] not in DTYPES:
            raise ValueError(f"unknown dtype {meta['dtype']!r}")
        if meta.get("plain", True):
            net = MLP(saved_bounds(meta), meta["fields"], meta["layers"], meta["activation"])
            net.to(torch_dtype(meta["dtype"]))
        else:
            net = _network_from_spec(meta, run_dir)
        net.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise PdecRunError(f"the checkpoint in '{run_dir}' does not describe a network: {_reason(exc)}") from exc
    return net.eval()


def _network_from_spec(meta: Mapping[str, Any], run_dir: Path) -> torch.nn.Module:
    """A network other than the plain MLP (modified MLP, input maps, exact conditions), rebuilt from the run's spec.

    The run directory's copy of the spec is read as if it stood at its original path (``meta["spec_path"]``), so its
    relative data paths resolve as they did for the run; the settings come from settings.json.
    """
    from pdec.compiler.constraints import constraints_of
    from pdec.compiler.driver import as_problem  # the front end: only this kind of network needs it
    from pdec.language.symbolic import settle
    from pdec.nn.networks import NetworkShape, make_net

    spec = io.StringIO((run_dir / SPEC).read_text(encoding="utf-8"))
    spec.name = str(meta.get("spec_path") or run_dir / SPEC)
    settings = read_settings(run_dir)
    problem = settle(dataclasses.replace(as_problem(spec), settings=settings))  # the run's settings, as compiled
    dtype = torch_dtype(meta["dtype"])
    if settings.windows > 1:  # time marching: one network per window (pdec.train.marching)
        from pdec.nn.windows import marched_net

        return marched_net(problem, settings, torch.device("cpu"), dtype)
    shape = NetworkShape(
        variables=tuple(meta["variables"]),
        fields=tuple(meta["fields"]),
        bounds=saved_bounds(meta),
        constraints=constraints_of(problem),
    )
    return make_net(shape, settings, torch.device("cpu"), dtype)


def _read_json(path: Path) -> Any:
    """Read a JSON file of a run directory (PdecRunError when it is missing or not JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PdecRunError(f"cannot read '{path}': {_reason(exc)}", hint="pass a directory `pdec run` created") from exc
    except ValueError as exc:
        raise PdecRunError(f"'{path}' is not valid JSON: {exc}") from exc


def read_points_csv(path: str | Path, variables: Sequence[str]) -> np.ndarray:
    """Read evaluation points: a header naming the variables (any order) or bare numeric columns in variable order."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    except OSError as exc:
        raise PdecRunError(f"cannot read points from '{path}': {_reason(exc)}", hint="pass a CSV file") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PdecRunError(f"'{path}' is not a CSV text file: {exc}", hint="pass a CSV file") from exc
    if not rows:
        raise PdecRunError(f"'{path}' holds no points")
    header = [h.strip() for h in rows[0]]
    if set(variables) <= set(header):
        columns = [header.index(v) for v in variables]
        body = rows[1:]
    elif set(variables) & set(header):
        missing = [v for v in variables if v not in header]
        raise PdecRunError(f"'{path}' has no column {', '.join(missing)}",
                           hint=f"write a header row naming {', '.join(variables)}")
    else:
        columns = list(range(len(variables)))
        body = rows
    try:
        return np.array([[float(r[c]) for c in columns] for r in body], dtype=float).reshape(-1, len(variables))
    except (ValueError, IndexError) as exc:
        hint = f"write a header row naming {', '.join(variables)}, or {len(variables)} numeric columns in that order"
        raise PdecRunError(f"cannot read points from '{path}': {exc}", hint=hint) from exc


def write_predictions(
    out: Any, points: np.ndarray, values: np.ndarray, variables: Sequence[str], fields: Sequence[str]
) -> None:
    """Write ``variables`` and ``fields`` columns as CSV to a file object."""
    writer = csv.writer(out)
    writer.writerow([*variables, *fields])
    for p, v in zip(points, values, strict=True):
        writer.writerow([repr(float(a)) for a in (*p, *v)])


# ------------------------------------------------------------------------------------------------------------- plots


@dataclass(frozen=True)
class Solution:
    """What the solution plot shows: evaluation points, predicted and reference values of the evaluated fields."""

    variables: tuple[str, ...]
    fields: tuple[str, ...]
    points: np.ndarray
    predicted: np.ndarray
    reference: np.ndarray
    inside: Callable[[np.ndarray], np.ndarray] | None = None  # a 2-D domain's membership: blank outside it


def plot_run(
    run_dir: Path, history: History, solution: Solution | None = None, truth: Mapping[str, float] | None = None
) -> None:
    """Write loss, weight, unknowns (and solution) plots under ``run_dir/plots`` (matplotlib Agg, no pyplot state)."""
    from matplotlib.figure import Figure

    folder = Path(run_dir) / PLOTS
    folder.mkdir(exist_ok=True)
    steps = history["step"]
    for quantity, label, name in (("losses", "loss", "loss.png"), ("weights", "weight", "weights.png")):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
        for term in history.names(quantity):
            ax.plot(steps, history.series(quantity, term), label=term, lw=1)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.set_yscale("log")
        ax.legend(fontsize="small")
        fig.savefig(folder / name, dpi=120)
    if history.names("unknowns"):
        plot_unknowns(folder / "unknowns.png", history, truth or {})
    if solution is not None and solution.points.shape[1] <= 2:
        plot_solution(folder / "solution.png", solution)


def plot_unknowns(path: Path, history: History, truth: Mapping[str, float]) -> None:
    """One panel per unknown: its trajectory over the steps, and its true value (dashed) when known."""
    from matplotlib.figure import Figure

    names = history.names("unknowns")
    fig = Figure(figsize=(7, 2.6 * len(names)), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(len(names), 1, i + 1)
        ax.plot(history["step"], history.series("unknowns", name), lw=1.5, label="discovered")
        if truth.get(name) is not None:
            ax.axhline(truth[name], color="k", ls="--", lw=1, label="true")
        ax.set_ylabel(name)
        ax.legend(fontsize="small")
    ax.set_xlabel("step")
    fig.savefig(path, dpi=120)


def plot_solution(path: Path, s: Solution) -> None:
    """Solution vs reference and the error: lines in 1D, heatmaps over the two variables in 2D / space-time (the
    solution alone for a field without reference values)."""  # noqa: D205, D209
    from matplotlib.figure import Figure

    n = len(s.fields)
    one_d = s.points.shape[1] == 1
    fig = Figure(figsize=(6 if one_d else 13, 3.5 * n), layout="constrained")
    error = np.abs(s.predicted - s.reference)
    for i, name in enumerate(s.fields):
        known = bool(np.isfinite(s.reference[:, i]).all())
        if one_d:
            ax = fig.add_subplot(n, 1, i + 1)
            order = np.argsort(s.points[:, 0])
            x = s.points[order, 0]
            if known:
                ax.plot(x, s.reference[order, i], "k-", lw=2, label="reference")
            ax.plot(x, s.predicted[order, i], "r--", lw=1.5, label="pinn")
            if known:
                twin = ax.twinx()
                twin.plot(x, error[order, i], "b:", lw=1)
                twin.set_ylabel("|error| (dotted)")
            ax.set_xlabel(s.variables[0])
            ax.set_ylabel(name)
            ax.legend(fontsize="small")
            continue
        panels = (
            (s.predicted[:, i], f"{name} (pinn)"),
            (s.reference[:, i], f"{name} (reference)"),
            (error[:, i], f"|error| {name}"),
        )
        for j, (z, title) in enumerate(panels if known else panels[:1]):
            ax = fig.add_subplot(n, 3, 3 * i + j + 1)
            art = _heatmap(ax, s.points[:, 0], s.points[:, 1], z, "magma" if j == 2 else "viridis", s.inside)
            fig.colorbar(art, ax=ax)
            ax.set_xlabel(s.variables[0])
            ax.set_ylabel(s.variables[1])
            ax.set_title(title, fontsize="small")
    fig.savefig(path, dpi=120)


def _heatmap(ax: Any, x: np.ndarray, y: np.ndarray, z: np.ndarray, cmap: str, inside: Callable | None = None) -> Any:
    """A heatmap of scattered values: pcolormesh when the points form a full grid, else tripcolor (<= 20k points).

    ``inside`` (a 2-D domain's membership) hides the triangles whose centre lies outside the domain (its holes).
    """
    ux, uy = np.unique(x), np.unique(y)
    if len(ux) * len(uy) == len(z) and len(ux) > 1 and len(uy) > 1 and inside is None:
        grid = np.full((len(uy), len(ux)), np.nan)
        grid[np.searchsorted(uy, y), np.searchsorted(ux, x)] = z
        return ax.pcolormesh(ux, uy, grid, shading="auto", cmap=cmap)
    keep = slice(None, None, max(1, len(z) // 20000))
    if inside is None:
        return ax.tripcolor(x[keep], y[keep], z[keep], shading="gouraud", cmap=cmap)
    from matplotlib.tri import Triangulation

    triangles = Triangulation(x[keep], y[keep])
    corners = np.stack([x[keep][triangles.triangles], y[keep][triangles.triangles]], axis=-1)  # [T, 3, 2]
    triangles.set_mask(~inside(corners.mean(axis=1)))
    return ax.tripcolor(triangles, z[keep], shading="gouraud", cmap=cmap)


BOUNDARY_POINTS = 400  # points per piece in the picture of a domain


def plot_domain(path: Path, domain: Domain, points: Mapping[str, np.ndarray]) -> None:
    """A picture of a 1-D or 2-D domain: its boundary pieces (their parts on the boundary) and each point set."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 6), layout="constrained")
    ax = fig.add_subplot()
    two = len(domain.variables) == 2
    for name, p in points.items():
        ys = p[:, 1] if two else np.zeros(len(p))
        ax.scatter(p[:, 0], ys, s=2 if len(p) > 500 else 5, label=f"{name} ({len(p)})", alpha=0.7)
    for piece in domain.pieces:
        unit = np.sort(sobol(BOUNDARY_POINTS, piece.dim, seed=1), axis=0)
        along = piece.points(unit)
        along[~domain.on_boundary(piece, along)] = np.nan  # only the parts on the boundary
        ax.plot(along[:, 0], along[:, 1] if two else np.zeros(len(along)), "k-", lw=0.8)
    ax.set_xlabel(domain.variables[0])
    if two:
        ax.set_ylabel(domain.variables[1])
        ax.set_aspect("equal")
    ax.set_title(f"{domain.name} = {domain.text}", fontsize="small")
    ax.legend(fontsize="x-small", markerscale=3, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.savefig(path, dpi=120)
