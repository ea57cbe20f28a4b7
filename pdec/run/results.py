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
from pdec.core.settings import DTYPES, Settings, Stage, torch_dtype
from pdec.geometry import Domain, sobol
from pdec.nn.networks import MLP
from pdec.run.functions import LearnedFunction, from_checkpoint
from pdec.run.intervals import Intervals
from pdec.run.scales import read_scales, rescaled

SPEC = "spec.pde"
SETTINGS = "settings.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
UNKNOWNS = "unknowns.json"
CHECKPOINT = "checkpoint.pt"
PLOTS = "plots"


class History:
    """Per-step records keyed by column name: ``step``, ``phase``, ``lr``, ``loss``, ``loss:pde:burgers``,
    ``weight:pde:burgers``, ``unknown:nu``, ``error:u`` (evaluation steps only), ``time`` (seconds).
    """  # noqa: D205

    def __init__(self, rows: Sequence[Mapping[str, Any]] = (), blocks: Sequence[str] = ()) -> None:
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]
        self.written: tuple[Path, list[str], int] | None = None  # the CSV last written: path, columns, rows
        self.blocks = list(blocks)  # the rows as JSON text, block by block (packed), and how many rows they hold
        self.encoded = len(self.rows) if self.blocks else 0
        self.seen: tuple[dict[str, None], int] = ({}, 0)  # the columns of the first rows, and how many rows

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row."""
        self.rows.append(dict(row))

    def truncate(self, length: int) -> None:
        """Drop the rows after the first ``length`` (a rollback)."""
        if length < len(self.rows):
            del self.rows[length:]
            self.written, self.blocks, self.encoded, self.seen = None, [], 0, ({}, 0)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        """Every column name, in first-seen order (the rows added since the last call are read)."""
        seen, read = self.seen
        for row in self.rows[read:]:
            seen.update(dict.fromkeys(row))
        self.seen = (seen, len(self.rows))
        return list(seen)

    def packed(self) -> dict[str, list[str]]:
        """The rows for a checkpoint: ``{"json": blocks}``, each block the JSON text of the rows added since the last.

        Each row is encoded once (a checkpoint every 1,000 steps pickled the whole history each time); JSON keeps
        ints, floats (repr: exact), NaN, text and the order of each row's columns, and loads without running code.
        """
        if self.encoded < len(self.rows):
            self.blocks.append(json.dumps(self.rows[self.encoded :], default=_json_number))
            self.encoded = len(self.rows)
        return {"json": list(self.blocks)}

    @classmethod
    def unpacked(cls, saved: Any) -> History:
        """The history a checkpoint holds: :meth:`packed` blocks, or (checkpoints before them) the rows."""
        if isinstance(saved, Mapping):
            blocks = [str(b) for b in saved["json"]]
            return cls([row for block in blocks for row in json.loads(block)], blocks)
        return cls(saved)

    def __getitem__(self, column: str) -> np.ndarray:
        """The column as a float array (NaN where a row has no value, e.g. errors between evaluations)."""
        return np.array([float(r.get(column, math.nan)) if r.get(column) != "" else math.nan for r in self.rows])

    def last(self, column: str) -> float | None:
        """The last recorded value of ``column`` (None if never recorded)."""
        for row in reversed(self.rows):
            if column in row:
                return row[column]
        return None

    def write_csv(self, path: Path) -> None:
        """Write every row (floats with repr precision; empty cells where a row has no value).

        Rows added since the last write to ``path`` are appended when the columns are the same (a checkpoint every
        1,000 steps would otherwise rewrite the whole history each time); otherwise the file is written anew.
        """
        columns = self.columns
        if self.written is not None and self.written[:2] == (path, columns) and path.is_file():
            with open(path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=columns, restval="").writerows(self.rows[self.written[2] :])
        else:
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=columns, restval="")
                writer.writeheader()
                writer.writerows(self.rows)
            os.replace(tmp, path)
        self.written = (path, columns, len(self.rows))

    @classmethod
    def read_csv(cls, path: Path) -> History:
        """Read a history CSV back (numbers as floats, ``phase`` as text)."""
        with open(path, newline="") as f:
            text = ("phase", "dtype")
            rows = [{k: (v if k in text else float(v)) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]
        return cls(rows)


@dataclass
class Result:
    """A trained run: the network, the discovered unknowns, the history and the final metrics.

    ``predict(points)`` evaluates the network at ``[N, d]`` physical points (columns in ``variables`` order) and
    returns ``[N, len(fields)]``. ``intervals`` holds the unknowns' confidence intervals when the spec has readings
    (``print(result.intervals["k"])``: ``k = 0.4012 +- 0.0031 (95%)``; pdec.run.intervals.Intervals), else None.
    ``functions`` holds the unknown functions (``result.functions["k"]([[0.5]])``; pdec.run.functions.LearnedFunction).
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

    def predict(self, points: Any) -> np.ndarray:
        """Evaluate the trained fields at ``points`` (array-like ``[N, d]`` or ``[d]``); returns a float64 array."""
        p = next(self.net.parameters())
        x = torch.as_tensor(np.atleast_2d(np.asarray(points, dtype=float)), dtype=p.dtype, device=p.device)
        if x.shape[1] != len(self.variables):
            raise ValueError(
                f"points need {len(self.variables)} columns ({', '.join(self.variables)}), got {x.shape[1]}"
            )
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


def _json_number(value: Any) -> Any:
    """A numpy scalar as the Python number JSON writes (TypeError for anything else)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a history value of type {type(value).__name__} cannot be saved")


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
    scales = read_scales(run_dir)
    if scales is not None:  # trained non-dimensionalised: predictions in the user's units
        net = rescaled(net, scales, tuple(meta["variables"]), tuple(meta["fields"]))
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
        functions=from_checkpoint(state.get("unknowns", {}), tuple(meta["variables"])),
    )


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
            net = MLP(meta["bounds"], meta["fields"], meta["layers"], meta["activation"])
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
        bounds={v: tuple(b) for v, b in meta["bounds"].items()},
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
    for prefix, name in (("loss:", "loss.png"), ("weight:", "weights.png")):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.add_subplot()
        for column in history.columns:
            if column.startswith(prefix):
                ax.plot(steps, history[column], label=column[len(prefix) :], lw=1)
        ax.set_xlabel("step")
        ax.set_ylabel(prefix.rstrip(":"))
        ax.set_yscale("log")
        ax.legend(fontsize="small")
        fig.savefig(folder / name, dpi=120)
    if any(c.startswith("unknown:") for c in history.columns):
        plot_unknowns(folder / "unknowns.png", history, truth or {})
    if solution is not None and solution.points.shape[1] <= 2:
        plot_solution(folder / "solution.png", solution)


def plot_unknowns(path: Path, history: History, truth: Mapping[str, float]) -> None:
    """One panel per unknown: its trajectory over the steps, and its true value (dashed) when known."""
    from matplotlib.figure import Figure

    names = [c[len("unknown:") :] for c in history.columns if c.startswith("unknown:")]
    fig = Figure(figsize=(7, 2.6 * len(names)), layout="constrained")
    for i, name in enumerate(names):
        ax = fig.add_subplot(len(names), 1, i + 1)
        ax.plot(history["step"], history[f"unknown:{name}"], lw=1.5, label="discovered")
        if truth.get(name) is not None:
            ax.axhline(truth[name], color="k", ls="--", lw=1, label="true")
        ax.set_ylabel(name)
        ax.legend(fontsize="small")
    ax.set_xlabel("step")
    fig.savefig(path, dpi=120)


def plot_solution(path: Path, s: Solution) -> None:
    """Solution vs reference and the error: lines in 1D, heatmaps over the two variables in 2D / space-time."""
    from matplotlib.figure import Figure

    n = len(s.fields)
    one_d = s.points.shape[1] == 1
    fig = Figure(figsize=(6 if one_d else 13, 3.5 * n), layout="constrained")
    error = np.abs(s.predicted - s.reference)
    for i, name in enumerate(s.fields):
        if one_d:
            ax = fig.add_subplot(n, 1, i + 1)
            order = np.argsort(s.points[:, 0])
            x = s.points[order, 0]
            ax.plot(x, s.reference[order, i], "k-", lw=2, label="reference")
            ax.plot(x, s.predicted[order, i], "r--", lw=1.5, label="pinn")
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
        for j, (z, title) in enumerate(panels):
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
