"""Inverse-problem accuracy: discovered unknowns against their true values, and catastrophic forgetting.

Run from the repository root (each case is one command; ``--quick`` only checks the pipeline)::

    python benchmarks/bench_inverse.py burgers       # lambda1, lambda2 from burgers_shock.mat, clean and 1% noise
    python benchmarks/bench_inverse.py lorenz        # (sigma, rho, beta) from examples/data/lorenz.csv
    python benchmarks/bench_inverse.py kovasznay     # c1, c2, nu from velocity only (pressure unobserved)
    python benchmarks/bench_inverse.py forgetting    # staged Burgers inverse: data-fit error as physics switches on
    python benchmarks/bench_inverse.py forgetting --fit-unknowns 0   # the same without fitting the unknowns first
    python benchmarks/bench_inverse.py diffusivity   # an unknown function D(x, y) in 2-D from 400 noisy readings
    python benchmarks/bench_inverse.py coverage --noise 0.02     # 95% intervals of y' = -a y's a over 50 data sets
    python benchmarks/bench_inverse.py coverage --ode oscillator --readings 50 --noise 0.01   # c, k of y'' + c y' + k y

Every run is stopped cleanly at ``--budget`` seconds (the trainer's callback) if Adam + L-BFGS have not finished.
Tables are printed and written to benchmarks/results/inverse_<case>.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _report import write_result  # benchmarks/ is on sys.path when run as a script

from pdec import fit
from pdec.compiler.driver import compile as compile_spec
from pdec.train.inverse import sample_exact, write_csv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def burgers_spec(seed: int, noise: float) -> str:
    """examples/burgers_inverse.pde with the data's sampling seed and noise level set, and an absolute data path."""
    text = (EXAMPLES / "burgers_inverse.pde").read_text()
    text = text.replace('"data/burgers_shock.mat"', f'"{EXAMPLES / "data" / "burgers_shock.mat"}"')
    return text.replace("sample 2000 seed 1234", f"sample 2000 seed {seed} noise {noise}")


def kovasznay_spec(folder: Path, seed: int) -> str:
    """benchmarks/specs/kovasznay_inverse.pde reading 1000 clean velocity readings of the exact solution."""
    exact = compile_spec(EXAMPLES / "kovasznay.pde", dtype="float64")
    points, values, fields = sample_exact(exact, 1000, seed=seed)
    keep = [fields.index("u"), fields.index("v")]
    path = folder / f"kovasznay_velocity_{seed}.csv"
    write_csv(path, ("x", "y", "u", "v"), points, values[:, keep])
    return (ROOT / "benchmarks" / "specs" / "kovasznay_inverse.pde").read_text().replace("DATA", str(path))


def lorenz_spec() -> str:
    """examples/lorenz_inverse.pde with an absolute data path."""
    text = (EXAMPLES / "lorenz_inverse.pde").read_text()
    return text.replace('"data/lorenz.csv"', f'"{EXAMPLES / "data" / "lorenz.csv"}"')


def diffusivity_spec(folder: Path, readings: int = 400, noise: float = 0.01, seed: int = 11) -> str:
    """benchmarks/specs/diffusivity_inverse_2d.pde reading noisy values of u = sin(pi x) sin(pi y) at random points.

    The noise is Gaussian with ``noise`` times the standard deviation of the clean readings (pdec's convention).
    """
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.0, 1.0, (2, readings))
    u = np.sin(np.pi * x) * np.sin(np.pi * y)
    u = u + noise * u.std() * rng.standard_normal(readings)
    path = folder / f"diffusivity_{readings}_{seed}.csv"
    np.savetxt(path, np.column_stack([x, y, u]), delimiter=",", header="x,y,u", comments="", fmt="%.12g")
    return (ROOT / "benchmarks" / "specs" / "diffusivity_inverse_2d.pde").read_text().replace("DATA", str(path))


def function_rows(args, overrides) -> list[str]:
    """The 2-D diffusivity case: D's relative L2 error on a grid (pdec's metrics) and u's, per training seed."""
    lines = [
        "| seed | D: relative L2 error | u: relative L2 error | steps (Adam + second phase) | seconds |",
        "|---:|---:|---:|---|---:|",
    ]
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = diffusivity_spec(Path(tmp))
        for seed in args.seeds:
            result, seconds = run(spec, Path(tmp) / f"run{seed}", args.budget, seed=seed, **overrides)
            m = result.metrics
            errors.append(m["unknown_errors"]["D"])
            lines.append(
                f"| {seed} | {100 * errors[-1]:.3g}% | {m['errors']['u']:.2e} | "
                f"{m['adam_steps']} + {m['second_steps']} | {seconds:.0f} |"
            )
            print(lines[-1], flush=True)
    return lines + ["", f"median relative L2 error of D: {100 * statistics.median(errors):.3g}% (target 5%)"]


def run(spec: str, folder: Path, budget: float, **overrides) -> tuple[dict, float]:
    """Train ``spec`` (text) within ``budget`` seconds; return the metrics and the seconds spent."""
    started = time.perf_counter()

    def stop(trainer, row):
        if time.perf_counter() - started > budget:
            raise KeyboardInterrupt

    overrides.setdefault("checkpoint_every", 10**6)
    result = fit(compile_spec(spec), out=folder, quiet=True, callback=stop, plots=False, **overrides)
    return result, time.perf_counter() - started


def unknown_rows(label: str, seed: int, result, seconds: float) -> str:
    """A markdown row: label, seed, each unknown's value and relative error, steps, seconds."""
    m = result.metrics
    cells = [f"{k} = {v:.6g} ({100 * m['unknown_errors'][k]:.3g}%)" for k, v in m["unknowns"].items()]
    steps = f"{m['adam_steps']} + {m['second_steps']}"
    return f"| {label} | {seed} | " + " | ".join(cells) + f" | {steps} | {seconds:.0f} |"


def case_unknowns(args, specs, overrides) -> list[str]:
    """Run every (label, seed) spec; return table lines with per-label medians of each unknown's error."""
    lines, errors = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, seed, spec) in enumerate(specs(Path(tmp))):
            result, seconds = run(spec, Path(tmp) / f"run{i}", args.budget, seed=seed, **overrides)
            lines.append(unknown_rows(label, seed, result, seconds))
            print(lines[-1], flush=True)
            for k, e in result.metrics["unknown_errors"].items():
                errors.setdefault((label, k), []).append(e)
    lines.append("")
    lines += [
        f"median relative error of {k} ({label}): {100 * statistics.median(v):.3g}%" for (label, k), v in errors.items()
    ]
    return lines






def heat(xt: np.ndarray, k: float) -> np.ndarray:
    """The solution of u_t = k u_xx, u(x, 0) = sin(pi x), u(0, t) = u(1, t) = 0, at ``xt`` = [x, t] (2 x n)."""
    return np.exp(-k * np.pi**2 * xt[1]) * np.sin(np.pi * xt[0])


def oscillator(t: np.ndarray, c: float, k: float) -> np.ndarray:
    """The solution of y'' + c y' + k y = 0, y(0) = 1, y'(0) = 0 (underdamped)."""
    w = np.sqrt(k - c * c / 4.0)
    return np.exp(-c * t / 2.0) * (np.cos(w * t) + c / (2.0 * w) * np.sin(w * t))


def decay(t: np.ndarray, a: float) -> np.ndarray:
    """The solution of y' = -a y, y(0) = 1."""
    return np.exp(-a * t)


COVERAGE = ROOT / "benchmarks" / "specs" / "coverage"  # the studies' specs, DATA standing for the readings' path
# name -> (spec file with DATA for the readings' path, closed form, true unknowns, time span, Adam steps, iterations);
# heat, a PDE, reads at uniformly random (x, t) in [0, 1]^2, the ODEs at evenly spaced t
ODES = {
    "oscillator": (COVERAGE / "oscillator.pde", oscillator, {"c": 0.4, "k": 4.0}, 10.0, 2000, 200),
    "decay": (COVERAGE / "decay.pde", decay, {"a": 1.5}, 2.0, 1200, 100),
    "heat": (COVERAGE / "heat.pde", heat, {"k": 0.4}, 1.0, 3000, 300),
}


def ode_case(
    ode: str, folder: Path, n: int, seed: int, noise: float, budget: float,
    weighting: str = "inverse_dirichlet_data_capped",
) -> dict | None:
    """One synthetic data set: pdec's intervals and the least-squares ones of the closed form (None: the run hit
    the budget)."""  # noqa: D205
    from scipy import stats
    from scipy.optimize import curve_fit

    spec, closed, truth, span, adam, iterations = ODES[ode]
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, span, (2, n)) if ode == "heat" else np.linspace(0.0, span, n)
    clean = closed(t, *truth.values())
    y = clean + noise * np.std(clean) * rng.standard_normal(n)
    path = folder / f"{ode}_{n}_{seed}.csv"
    columns, header = (np.column_stack([t[0], t[1], y]), "x,t,u") if ode == "heat" else (np.column_stack([t, y]), "t,y")
    np.savetxt(path, columns, delimiter=",", header=header, comments="")
    p, cov = curve_fit(closed, t, y, p0=[1.0] * len(truth))
    q = stats.t.ppf(0.975, n - len(truth))
    result, seconds = run(
        spec.read_text().replace("DATA", str(path)),
        folder / f"run_{n}_{seed}",
        budget,
        adam=adam,
        iterations=iterations,
        weighting=weighting,
    )
    if result.intervals is None:  # stopped at the budget: no intervals
        return None
    names = list(truth)
    rho = result.intervals.correlation[names[0]][names[-1]] if len(names) > 1 else None
    row = {"n": n, "seed": seed, "seconds": seconds, "rho": rho}
    for i, (name, value) in enumerate(truth.items()):
        interval, ls = result.intervals[name], q * math.sqrt(cov[i, i])
        row[name] = (interval.value, interval.half_width, value in interval, p[i], ls, abs(p[i] - value) <= ls)
    return row


def coverage(args) -> list[str]:
    """Coverage of pdec's 95% intervals on an ODE (``--ode``), and their widths as the readings grow.

    The table is rewritten after every run (benchmarks/results/inverse_coverage_<ode>.md), so a stopped study keeps
    what it measured.
    """
    noise, (_, _, truth, span, adam, iterations) = args.noise[-1], ODES[args.ode]
    weighting = args.weighting or "inverse_dirichlet_data_capped"
    where = "uniformly random (x, t) in [0, 1]^2" if args.ode == "heat" else f"t in [0, {span:g}]"
    head = [
        f"{args.ode}: {', '.join(f'{k} = {v:g}' for k, v in truth.items())}; {args.readings} readings at "
        f"{where} with {100 * noise:g}% noise (seeds 0..{args.datasets - 1}); weighting "
        f"{weighting}, Adam {adam} + {iterations} second phase (the spec in "
        f"benchmarks/specs/coverage/{args.ode}.pde). LS: a least-squares fit of the closed form to the same readings "
        "(scipy curve_fit), with t intervals.",
        "",
    ]
    rows, sweep, stopped = [], {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [n for n in (args.readings // 2, args.readings * 2, args.readings * 4)]
        cases = [(n, 1000 + s) for n in sizes for s in range(2)] + [(args.readings, s) for s in range(args.datasets)]
        for n, seed in cases:
            found = ode_case(args.ode, Path(tmp), n, seed, noise, args.budget, weighting)
            print(found, flush=True)
            stopped += found is None
            if found is not None:
                (rows if seed < 1000 else sweep.setdefault(n, [])).append(found)
            lines = head + _sweep_lines(truth, rows, sweep, args.readings) + _coverage_lines(truth, rows, stopped, args)
            write_result(f"inverse_coverage_{args.ode}", args.header + "\n".join(lines), args.quick)
    return lines


def _coverage_lines(truth: dict, rows: list[dict], stopped: int, args) -> list[str]:
    """The coverage table of the data sets of ``args.readings`` readings."""
    if not rows:
        return []
    lines = [
        "",
        f"{len(rows)} data sets of {args.readings} readings ({stopped} runs stopped at the "
        f"{args.budget:.0f} s budget, left out)",
        "",
        "| unknown | pdec coverage | LS coverage | median half-width pdec / LS | median half-width pdec |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in truth:
        inside = sum(r[name][2] for r in rows) / len(rows)
        ls = sum(r[name][5] for r in rows) / len(rows)
        ratio = statistics.median(r[name][1] / r[name][4] for r in rows)
        width = statistics.median(r[name][1] for r in rows)
        lines.append(f"| {name} | {100 * inside:.0f}% | {100 * ls:.0f}% | {ratio:.2f} | {width:.3g} |")
    every = sum(all(r[k][2] for k in truth) for r in rows) / len(rows)
    lines += [
        "",
        f"all unknowns inside: {100 * every:.0f}%; median seconds per run: "
        f"{statistics.median(r['seconds'] for r in rows):.1f}",
    ]
    if len(truth) > 1:
        lines[-1] += f"; median correlation: {statistics.median(r['rho'] for r in rows):+.3f}"
    return lines


def _sweep_lines(truth: dict, rows: list[dict], sweep: dict[int, list[dict]], readings: int) -> list[str]:
    """Median half-widths against the number of readings (pdec / LS)."""
    lines = [
        "| readings | data sets | " + " | ".join(f"median half-width {k} (pdec / LS)" for k in truth) + " |",
        "|---:|---:|" + "---|" * len(truth),
    ]
    for n, found in sorted({**sweep, readings: rows}.items()):
        if found:
            median = lambda k, i: statistics.median(r[k][i] for r in found)  # noqa: B023, E731
            cells = [f"{median(k, 1):.3g} / {median(k, 4):.3g}" for k in truth]
            lines.append(f"| {n} | {len(found)} | " + " | ".join(cells) + " |")
    return lines


def forgetting(args) -> list[str]:
    """Staged Burgers inverse: data only, then data + physics; data-fit error before and after physics switches on."""
    stage = args.stage
    lines = [
        f"Stage 1: data only for {stage} Adam steps; then all terms for {args.adam - stage} Adam steps (no L-BFGS).",
        "Unknowns fitted with the network frozen at the switch: "
        + ("no (fit_unknowns = 0)" if args.fit_unknowns == 0 else "yes (the default)"),
        "Data-fit error = sqrt(data loss) / rms(u_obs). 'peak' is the largest data-fit error in the 500 steps after "
        "the switch.",
        "",
        "| weighting | seed | at switch | peak after | end | lambda1 err | lambda2 err |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for weighting in ("fixed", "inverse_dirichlet"):
            for seed in args.seeds:
                spec = burgers_spec(seed, 0.0) + f"\n  stage: obs for {stage}\n"
                result, _ = run(
                    spec,
                    Path(tmp) / f"{weighting}{seed}",
                    args.budget,
                    seed=seed,
                    adam=args.adam,
                    lbfgs=0,
                    weighting=weighting,
                    **({} if args.fit_unknowns is None else {"fit_unknowns": args.fit_unknowns}),
                )
                h = result.history
                steps, data = np.asarray(h["step"]), np.sqrt(np.asarray(h["loss:data:obs"]))
                scale = float(np.sqrt(np.mean(compile_spec(spec).problem.data[0].values ** 2)))
                at = data[steps == stage][0] / scale
                peak = data[(steps > stage) & (steps <= stage + 500)].max() / scale
                end = data[-1] / scale
                e = result.metrics["unknown_errors"]
                lines.append(
                    f"| {weighting} | {seed} | {at:.2e} | {peak:.2e} | {end:.2e} | {100 * e['l1']:.3g}% | "
                    f"{100 * e['l2']:.3g}% |"
                )
                print(lines[-1], flush=True)
                summary.setdefault(weighting, []).append(peak / at)
    lines.append("")
    lines += [f"median peak/at-switch ratio, {w}: {statistics.median(v):.3g}" for w, v in summary.items()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("burgers", "lorenz", "kovasznay", "forgetting", "coverage", "diffusivity"))
    parser.add_argument("--datasets", type=int, default=50, help="coverage: synthetic data sets")
    parser.add_argument(
        "--ode",
        choices=tuple(ODES),
        default="decay",
        help="coverage: the problem (decay, oscillator: ODEs; heat: a PDE)",
    )
    parser.add_argument("--readings", type=int, default=30, help="coverage: readings per data set")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=900.0, help="wall-clock seconds per run")
    parser.add_argument("--adam", type=int, help="Adam steps (default: the spec's)")
    parser.add_argument("--lbfgs", type=int, help="L-BFGS iterations (default: the spec's)")
    parser.add_argument("--weighting", help="loss weighting (default: the spec's)")
    parser.add_argument(
        "--fit-unknowns", type=int, dest="fit_unknowns", help="L-BFGS iterations fitting the unknowns at a switch"
    )
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01], help="Burgers noise levels")
    parser.add_argument("--stage", type=int, default=2000, help="forgetting: data-only steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one seed, 60 s per run: checks the pipeline only")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget = args.seeds[:1], 60.0
        args.adam, args.stage = args.adam or 600, min(args.stage, 300)
    torch.set_num_threads(args.threads)
    names = ("adam", "lbfgs", "weighting", "fit_unknowns")
    overrides = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    header = [
        f"# Inverse benchmark: {args.case}",
        "",
        f"machine: {platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}; "
        f"budget {args.budget:.0f} s per run; {time.strftime('%Y-%m-%d %H:%M')}; settings: the spec's"
        + (f", overrides {overrides}" if overrides else ""),
        "",
    ]
    if args.case == "forgetting":
        args.adam = args.adam or 6000
        body = forgetting(args)
    elif args.case == "diffusivity":
        header[-1:-1] = [
            "Problem: benchmarks/specs/diffusivity_inverse_2d.pde, D(x, y) = 1 + sin(pi x) y / 2 from "
            "400 readings of u with 1% noise (data seed 11).",
            "",
        ]
        body = function_rows(args, overrides)
    elif args.case == "coverage":
        args.datasets, args.header = (2 if args.quick else args.datasets), "\n".join(header)
        body = coverage(args)
    else:
        if args.case == "burgers":
            specs = lambda tmp: [(f"noise {n:g}", s, burgers_spec(s, n)) for n in args.noise for s in args.seeds]  # noqa: E731
        elif args.case == "lorenz":
            specs = lambda tmp: [("clean", s, lorenz_spec()) for s in args.seeds]  # noqa: E731
        else:
            specs = lambda tmp: [("clean", s, kovasznay_spec(tmp, s)) for s in args.seeds]  # noqa: E731
        n = {"burgers": 2, "lorenz": 3, "kovasznay": 3}[args.case]
        body = [
            "| data | seed | " + " | ".join(["unknown (relative error)"] * n) + " | steps (Adam + L-BFGS) | seconds |",
            "|---|---:|" + "---|" * n + "---|---:|",
        ]
        body += case_unknowns(args, specs, overrides)
    text = "\n".join(header + body)
    print(text)
    suffix = "_no_fit" if args.fit_unknowns == 0 else f"_{args.ode}" if args.case == "coverage" else ""
    write_result(f"inverse_{args.case}{suffix}", text, args.quick)


if __name__ == "__main__":
    main()
