"""A parametric family trained once against one training per parameter value, at the same network and budget.

Run from the repository root::

    python benchmarks/bench_parametric.py                      # Bratu: parametric and single-value runs (~5 min CPU)
    python benchmarks/bench_parametric.py --family burgers     # Burgers for nu in [0.005, 0.05]/pi (~1 h of CPU)
    python benchmarks/bench_parametric.py --family burgers --configs single   # only the single-value runs
    python benchmarks/bench_parametric.py --family burgers --report           # rewrite the table from the log
    python benchmarks/bench_parametric.py --family burgers --configs parametric --seeds 1 2   # other seeds

Two families, each a spec in benchmarks/specs/parametric/:

- ``bratu``: ``u'' + lam exp(u) = 0`` on [0, 1], ``u(0) = u(1) = 0``, ``param lam in [0.5, 3]`` (the lower branch,
  which exists up to lam = 3.513...). References: ``scipy.integrate.solve_bvp`` (tol 1e-10, started from u = 0, so
  on the lower branch), checked against the closed form ``u = -2 ln(cosh((x - 1/2) theta / 2) / cosh(theta / 4))``
  with ``theta = sqrt(2 lam) cosh(theta / 4)`` (smallest root); error at 201 evenly spaced x.
- ``burgers``: examples/burgers.pde with ``param nu in [0.005/pi, 0.05/pi]`` (the issue's family), the same network,
  points and budget. References: the Cole-Hopf transform (``burgers_reference``, a trapezoid rule in the heat
  kernel's variable, exact to round-off for this smooth periodic integrand), checked against the published
  burgers_shock.mat at nu = 0.01/pi; error on that file's 256 x 100 grid of (x, t).

``parametric``: the spec as written, one network for the family. ``single``: the same spec with the ``param`` line
replaced by ``const NAME = V``, one run per held-out value V: the same network, points, Adam steps and second-phase
iterations. Larger parametric configurations (``parametric x5`` and the like) multiply settings of the spec as the
family's table says. Each run is on one torch thread, seed 0. Error: relative L2 against the reference.

Rows are appended to ``results/<log>.jsonl`` as runs end (a rerun skips what is there; two processes may run
different ``--configs`` side by side), and ``results/<log>.md`` is rewritten from the whole log. ``seconds`` is the
training's wall time, ``cpu`` the process CPU time (the fairer cost on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from _report import RESULTS, read_jsonl, write_result  # benchmarks/ is on sys.path when run as a script

import pdec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "benchmarks" / "specs" / "parametric"
MACHINE = "2-core x86_64 shared with other jobs, one torch thread"


@dataclass(frozen=True)
class Config:
    """A larger or reshaped parametric run: settings multiplied, or another spec of the same family.

    ``spec``: a file in benchmarks/specs/parametric/ (the family's own when None); ``log``: that spec's parameter is
    the logarithm of the family's, written by hand (``param s in [log(lo), log(hi)]`` with ``let NAME = exp(s)``), so
    a held-out value V is asked for at ``s = log(V)``. A spec whose parameter is declared ``log`` needs no flag: it is
    asked for at V.
    """

    factors: dict[str, int] = field(default_factory=dict)
    spec: str | None = None
    log: bool = False
    settings: dict[str, str] = field(default_factory=dict)  # settings replaced (``optimizer = lm``)
    single: bool = False  # one run per held-out value (the spec with ``const``), like ``single``

    def describe(self) -> str:
        parts = [f"benchmarks/specs/parametric/{self.spec}"] if self.spec else []
        parts += [f"{k} x{f}" for k, f in self.factors.items()]
        parts += [f"`{k} = {v}`" for k, v in self.settings.items()]
        return ("one run per value, " if self.single else "") + ", ".join(parts)


@dataclass(frozen=True)
class Family:
    """One benchmark family: its spec, parameter, held-out values, evaluation points and references."""

    name: str
    param: str
    held_out: tuple[float, ...]
    points: np.ndarray  # (n, number of variables), in the spec's column order
    reference: Callable[[float], np.ndarray]  # the reference at ``points`` for one parameter value
    check: Callable[[], str]  # a sentence on the reference's independent check
    describe: str
    configs: dict[str, Config] = field(default_factory=dict)  # the parametric runs beside the spec as written
    log: str = ""
    label: Callable[[float], str] = str  # a held-out value as the table writes it

    @property
    def spec(self) -> Path:
        return SPECS / f"{self.name}.pde"


# --- Bratu ----------------------------------------------------------------------------------------------------

BRATU_X = np.linspace(0.0, 1.0, 201)


def bratu_reference(lam: float) -> np.ndarray:
    """The lower-branch solution at BRATU_X by scipy.integrate.solve_bvp (tol 1e-10, started from zero)."""
    from scipy.integrate import solve_bvp

    def rhs(x, y):
        return np.vstack([y[1], -lam * np.exp(y[0])])

    mesh = np.linspace(0.0, 1.0, 101)
    solved = solve_bvp(rhs, lambda a, b: np.array([a[0], b[0]]), mesh, np.zeros((2, len(mesh))), tol=1e-10,
                       max_nodes=100_000)
    if not solved.success:
        raise RuntimeError(f"solve_bvp failed for lam = {lam}: {solved.message}")
    return solved.sol(BRATU_X)[0]


def bratu_closed_form(lam: float) -> np.ndarray:
    """Bratu's closed form on the lower branch (the smallest theta with theta = sqrt(2 lam) cosh(theta / 4))."""
    from scipy.optimize import brentq

    theta = brentq(lambda s: s - np.sqrt(2 * lam) * np.cosh(s / 4), 0.0, 4.79)  # 4.79: past the fold's theta
    return -2 * np.log(np.cosh((BRATU_X - 0.5) * theta / 2) / np.cosh(theta / 4))


def _bratu_check() -> str:
    worst = max(float(np.abs(bratu_reference(v) - bratu_closed_form(v)).max()) for v in BRATU.held_out)
    return (f"Reference: scipy.integrate.solve_bvp (tol 1e-10, lower branch); it agrees with Bratu's closed form to "
            f"{worst:.1e} at every held-out value. Error: relative L2 at 201 evenly spaced x.")


# --- Burgers --------------------------------------------------------------------------------------------------

SHOCK = ROOT / "examples" / "data" / "burgers_shock.mat"


def _shock_grid() -> tuple[np.ndarray, np.ndarray]:
    """The (x, t) grid of the published burgers_shock.mat: 256 x in [-1, 1], 100 t in [0, 0.99]."""
    return np.linspace(-1.0, 1.0, 256), np.linspace(0.0, 0.99, 100)


def burgers_reference_grid(nu: float, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """u(x, t) of ``u_t + u u_x = nu u_xx``, ``u(x, 0) = -sin(pi x)``, by Cole-Hopf; shape (len(x), len(t)).

    ``u = -2 nu phi_x / phi`` with ``phi`` the heat equation's solution from ``exp(-cos(pi x) / (2 pi nu))``, so
    ``u(x, t) = -int sin(pi y) f(y) exp(-z^2) dz / int f(y) exp(-z^2) dz`` with ``y = x - sqrt(4 nu t) z``. The
    integrands are smooth and decay like ``exp(-z^2)``: a trapezoid rule on z in [-10, 10] with a step a fiftieth of
    the peak's width is exact to round-off. Exponents are shifted by their maximum, so small nu does not overflow.
    """
    out = np.empty((len(x), len(t)))
    a = 1.0 / (2 * np.pi * nu)
    for j, tj in enumerate(t):
        if tj == 0:
            out[:, j] = -np.sin(np.pi * x)
            continue
        s = np.sqrt(4 * nu * tj)
        h = min(0.01, 1.0 / (np.pi * s * np.sqrt(a)) / 50)
        z = np.arange(-10.0, 10.0 + h / 2, h)
        y = x[:, None] - s * z[None, :]
        log_w = -z[None, :] ** 2 - a * np.cos(np.pi * y)
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        out[:, j] = -(np.sin(np.pi * y) * w).sum(axis=1) / w.sum(axis=1)
    return out


def burgers_reference(nu: float) -> np.ndarray:
    """The Cole-Hopf solution on the shock file's grid, flattened in the order of BURGERS_POINTS."""
    x, t = _shock_grid()
    return burgers_reference_grid(nu, x, t).ravel()


def _burgers_points() -> np.ndarray:
    x, t = _shock_grid()
    xx, tt = np.meshgrid(x, t, indexing="ij")
    return np.column_stack([xx.ravel(), tt.ravel()])


def _burgers_check() -> str:
    from scipy.io import loadmat

    data = loadmat(SHOCK)
    x, t, published = data["x"].ravel(), data["t"].ravel(), np.real(data["usol"])
    ours = burgers_reference_grid(0.01 / np.pi, x, t)
    gap = np.linalg.norm(ours - published) / np.linalg.norm(published)
    return (f"Reference: the Cole-Hopf transform (bench_parametric.burgers_reference); at nu = 0.01/pi it agrees with "
            f"the published burgers_shock.mat (Raissi et al.) to a relative L2 of {gap:.1e}. Error: relative L2 on "
            f"that file's grid, 256 x in [-1, 1] by 100 t in [0, 0.99].")


BRATU = Family(
    name="bratu", param="lam", held_out=(0.75, 1.25, 1.75, 2.25, 2.75), points=BRATU_X[:, None],
    reference=bratu_reference, check=_bratu_check, log="parametric",
    describe="The Bratu problem `u'' + lam exp(u) = 0`, `u(0) = u(1) = 0`, `lam` in [0.5, 3] "
             "(benchmarks/specs/parametric/bratu.pde)",
    configs={"parametric x5": Config({"adam": 5, "iterations": 5}),
             "parametric, lm": Config(settings={"optimizer": "lm"}),
             "single, lm": Config(settings={"optimizer": "lm"}, single=True)},
)
BURGERS = Family(
    name="burgers", param="nu", held_out=tuple(k / np.pi for k in (0.006, 0.01, 0.016, 0.025, 0.04)),
    points=_burgers_points(), reference=burgers_reference, check=_burgers_check, log="parametric_burgers",
    label=lambda v: f"{v * np.pi:.3g}/pi",
    describe="Viscous Burgers `u_t + u u_x = nu u_xx` from `-sin(pi x)`, `nu` in [0.005, 0.05]/pi "
             "(benchmarks/specs/parametric/burgers.pde: examples/burgers.pde with its constant made a parameter)",
    configs={"parametric, log nu": Config(spec="burgers_log.pde", log=True),
             "parametric, log nu, x2": Config({"interior": 2, "iterations": 2}, spec="burgers_log.pde", log=True),
             "parametric, nu log": Config(spec="burgers_nu_log.pde"),
             # pdec's sized default for three inputs and one field (pdec.core.settings.sized_defaults)
             "parametric, log nu, 4x32": Config(spec="burgers_log.pde", log=True, settings={"layers": [32] * 4})},
)
FAMILIES = {f.name: f for f in (BRATU, BURGERS)}


def spec_text(family: Family, value: float | None) -> str:
    """The family's spec: parametric as written, or with its parameter fixed at one value."""
    text = family.spec.read_text(encoding="utf-8")
    if value is None:
        return text
    return re.sub(rf"param {family.param} in \[[^\]]*\]", f"const {family.param} = {value!r}", text)


def train(family: Family, config: str, value: float | None, seed: int = 0) -> dict:
    """Train ``parametric``, another configuration, or ``single`` at ``value``; its errors at the held-out values."""
    torch.set_num_threads(1)
    shape = family.configs.get(config, Config())
    text = spec_text(family, value) if shape.spec is None else (SPECS / shape.spec).read_text(encoding="utf-8")
    compiled = pdec.compile(text, **shape.settings)
    if shape.factors:
        s = compiled.settings
        compiled = pdec.compile(text, **shape.settings, **{k: f * getattr(s, k) for k, f in shape.factors.items()})
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        result = pdec.fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, vtu=False, seed=seed)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    values = family.held_out if value is None else (value,)
    errors = {}
    for v in values:
        ref = family.reference(v)
        if value is not None:
            predicted = result.predict(family.points)[:, 0]
        elif shape.log:
            predicted = result.predict(family.points, **{next(iter(result.parameters)): float(np.log(v))})[:, 0]
        else:
            predicted = result.predict(family.points, **{family.param: v})[:, 0]
        errors[repr(v)] = float(np.linalg.norm(predicted - ref) / np.linalg.norm(ref))
    s = compiled.settings
    settings = {"layers": list(s.layers), "interior": s.interior, "boundary": s.boundary, "adam": s.adam,
                "iterations": s.iterations, "optimizer": result.metrics.get("optimizer")}
    key = "lam" if family is BRATU else "value"  # the Bratu log predates the Burgers family
    return {"config": config, key: value, "seed": seed, "seconds": wall, "cpu": cpu, "errors": errors,
            "settings": settings,
            "torch": torch.__version__, "machine": MACHINE, "date": time.strftime("%Y-%m-%d"),
            "platform": platform.platform()}


def _value(row: dict) -> float | None:
    return row.get("value", row.get("lam"))


def _seed(row: dict) -> int:
    return int(row.get("seed", 0))  # rows from before --seeds are seed 0's


def report(family: Family, rows: list[dict]) -> str:
    """The markdown table: per held-out value, the parametric and single errors and their ratio; then the costs; then
    the configurations run on several seeds."""  # noqa: D205, D209
    every = rows
    rows = [r for r in rows if _seed(r) == 0]
    parametric = next((r for r in rows if r["config"] == "parametric"), None)
    larger = {c: next((r for r in rows if r["config"] == c), None) for c, k in family.configs.items() if not k.single}
    singles = {_value(r): r for r in rows if r["config"] == "single"}
    other_singles = {c: {_value(r): r for r in rows if r["config"] == c} for c, k in family.configs.items() if k.single}
    dates = sorted({r.get("date", "2026-12-07") for r in rows})
    lines = [
        f"# A parametric family trained once (benchmarks/bench_parametric.py --family {family.name})",
        "",
        f"Machine: {MACHINE}; runs of {', '.join(dates)}. {family.describe}, trained once as a `param`, against one "
        "training per held-out value with `const` in its place: the same network, points, Adam steps and "
        "second-phase iterations, seed 0.",
        family.check(),
        "",
    ]
    if parametric is not None:
        s = parametric["settings"]
        lines += [f"Settings of every run: layers {s['layers']}, {s['interior']} interior and {s['boundary']} boundary "
                  f"points, {s['adam']} Adam steps, {s['iterations']} iterations of {s['optimizer']}.", ""]
    for c, shape in family.configs.items():
        lines.append(f"`{c}`: {shape.describe()}.")
    names = ["parametric", *larger]
    lines += ["", f"| {family.param} | " + " | ".join(f"{n} (one run)" for n in names)
              + " | single-value run | " + "".join(f"{c} | " for c in other_singles)
              + "ratio (parametric / single) | single run's seconds (CPU) |",
              "|---|" + "---|" * (len(names) + len(other_singles) + 3)]
    runs = {"parametric": parametric, **larger}
    for v in family.held_out:
        cells = [_fmt(runs[n]["errors"].get(repr(v)) if runs[n] else None) for n in names]
        single = singles.get(v)
        e = single["errors"][repr(v)] if single else None
        p = parametric["errors"].get(repr(v)) if parametric else None
        ratio = f"{p / e:.3g}" if p is not None and e else "-"
        cost = f"{single['seconds']:.0f} ({single['cpu']:.1f})" if single else "-"
        others = "".join(f"{_fmt(o[v]['errors'][repr(v)]) if v in o else '-'} | " for o in other_singles.values())
        lines.append(f"| {family.label(v)} | " + " | ".join(cells) + f" | {_fmt(e)} | {others}{ratio} | {cost} |")
    if parametric is not None and len(singles) == len(family.held_out):
        wall = sum(r["seconds"] for r in singles.values())
        cpu = sum(r["cpu"] for r in singles.values())
        worst = max(parametric["errors"][repr(v)] / singles[v]["errors"][repr(v)] for v in family.held_out)
        lines += [
            "",
            f"Cost: the parametric run took {parametric['seconds']:.0f} s ({parametric['cpu']:.1f} s CPU); the five "
            f"single-value runs {wall:.0f} s ({cpu:.1f} s CPU) together: {parametric['cpu'] / cpu:.2f} of their CPU "
            f"time. The worst ratio of errors is {worst:.3g} (the issue's target: within 2x).",
        ]
        for c, found in other_singles.items():
            if len(found) == len(family.held_out):
                lines.append(f"The {c} runs took {sum(r['cpu'] for r in found.values()):.1f} s CPU together.")
        for c, row in larger.items():
            if row is not None:
                worst = max(row["errors"][repr(v)] / singles[v]["errors"][repr(v)] for v in family.held_out)
                lines.append(f"The {c} run took {row['seconds']:.0f} s ({row['cpu']:.1f} s CPU): "
                             f"{row['cpu'] / cpu:.2f} of the single runs' CPU time; worst ratio of errors {worst:.3g}.")
                for o, found in other_singles.items():  # single runs with the same settings replaced
                    if family.configs[o].settings == family.configs[c].settings and len(found) == len(singles):
                        worst = max(row["errors"][repr(v)] / found[v]["errors"][repr(v)] for v in family.held_out)
                        spent = sum(r["cpu"] for r in found.values())
                        lines.append(f"Against the {o} runs (the same settings): {row['cpu'] / spent:.2f} of their "
                                     f"CPU time; worst ratio of errors {worst:.3g}.")
    return "\n".join(lines + _seeds_table(family, every))


def _seeds_table(family: Family, rows: list[dict]) -> list[str]:
    """The parametric configurations run on several seeds (``--seeds``): per held-out value, the median error and
    every seed's."""  # noqa: D205, D209
    names = [c for c in ("parametric", *family.configs) if len({_seed(r) for r in rows if r["config"] == c}) > 1]
    if not names:
        return []
    lines = ["", "## Several seeds", "",
             "The same runs on other seeds (`--seeds`): training is chaotic, so round-off differences (two ways of "
             "writing one problem) and seeds scatter the errors alike. Median (per seed).", "",
             f"| {family.param} | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for v in family.held_out:
        cells = []
        for c in names:
            found = sorted((_seed(r), r["errors"][repr(v)]) for r in rows if r["config"] == c)
            median = float(np.exp(np.median(np.log([e for _, e in found]))))  # an even count: the geometric middle
            cells.append(f"{_fmt(median)} (" + ", ".join(f"{s}: {e:.1e}" for s, e in found) + ")")
        lines.append(f"| {family.label(v)} | " + " | ".join(cells) + " |")
    return lines


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def main() -> None:
    """Run what the log lacks, one training at a time; rewrite the table from the whole log after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), default="bratu")
    parser.add_argument("--configs", nargs="*", help="only these configurations (parametric, single, ...)")
    parser.add_argument("--report", action="store_true", help="only rewrite the table from the log")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the parametric configurations")
    args = parser.parse_args()
    family = FAMILIES[args.family]
    log = RESULTS / f"{family.log}.jsonl"
    if not args.report:
        todo = [("parametric", None)] + [("single", v) for v in family.held_out]
        for c, shape in family.configs.items():
            todo += [(c, v) for v in family.held_out] if shape.single else [(c, None)]
        for seed, (config, value) in ((s, t) for s in args.seeds for t in todo):
            if args.configs and config not in args.configs or (value is not None and seed != 0):
                continue
            if any(r["config"] == config and _value(r) == value and _seed(r) == seed for r in read_jsonl(log)):
                continue
            row = train(family, config, value, seed)
            with open(log, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            write_result(family.log, report(family, read_jsonl(log)))
    print(write_result(family.log, report(family, read_jsonl(log))).read_text())


if __name__ == "__main__":
    main()
