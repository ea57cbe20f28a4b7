"""pdec from DeepXDE's own start: its initial weights, its training points, its inputs as they are (a diagnostic).

The comparison in bench_deepxde.py gives both tools the same network, loss and Adam steps, but each draws its own
initial weights and points. Where the two differ by more than the seeds' scatter, this script tells an implementation
difference from a difference of draws: for each seed it builds DeepXDE's model exactly as bench_deepxde.py does
(``dde.config.set_random_seed(seed)``, then the script's data and network), copies DeepXDE's initial weights into
pdec's network, hands pdec DeepXDE's training points (each of pdec's point sets the rows of DeepXDE's ``train_x_all``
on its face, the interior the rest), and trains pdec's spec with pdec.fit, its inputs as they are (`inputs = raw`;
pdec's networks map the box onto [-1, 1] by default), since DeepXDE's are. If the two implementations compute the
same loss, gradient and Adam step, the errors agree seed for seed up to float32 round-off.

This reaches into pdec (its sampler and network class) for the experiment only: no setting hands pdec another
tool's points and weights.

    python benchmarks/deepxde_same_start.py --problem diffusion_1d --seeds 0 1 2   # results/deepxde_same_start.jsonl
    python benchmarks/deepxde_same_start.py --problem helmholtz_2d --seeds 0 --trajectory 500   # both tools' losses
    python benchmarks/deepxde_same_start.py --problem diffusion_1d --start points   # DeepXDE's points, pdec's network
    python benchmarks/deepxde_same_start.py --report                               # rewrites deepxde_same_start.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DDE_BACKEND", "pytorch")
HERE = Path(__file__).resolve().parent
LOG = HERE / "results" / "deepxde_same_start.jsonl"
REPORT = HERE / "results" / "deepxde_same_start.md"
COMPARISON = HERE / "results" / "deepxde.jsonl"  # bench_deepxde.py's log: both tools' own runs
PROBLEMS = ("diffusion_1d", "helmholtz_2d")  # the rows above DeepXDE's error; box problems, point sets on faces


def deepxde_start(problem: str, seed: int):
    """DeepXDE's model for ``seed`` as bench_deepxde.py builds it: its training points and initial linear layers."""
    import bench_deepxde as bench
    import deepxde as dde
    import torch

    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    model, *_ = bench.CASES[problem].build(dde, torch)
    layers = [m for m in model.net.modules() if isinstance(m, torch.nn.Linear)]
    return model.data.train_x_all, [(m.weight.detach().clone(), m.bias.detach().clone()) for m in layers]


def assign(points, compiled) -> dict:
    """DeepXDE's points as pdec's point sets: a set on a face takes the rows on it; the interior the rows on none."""
    import numpy as np

    columns = {v: i for i, v in enumerate(compiled.variables)}
    on_face = np.zeros(len(points), bool)
    found = {}
    for name, point_set in compiled.point_sets.items():
        if point_set.region:
            rows = np.all([np.isclose(points[:, columns[v]], x) for v, x in point_set.region.items()], axis=0)
            found[name], on_face = points[rows], on_face | rows
    found.update({name: points[~on_face] for name, ps in compiled.point_sets.items() if not ps.region})
    return found


def from_deepxde_start(problem: str, seed: int, start: str = "both"):  # noqa: ANN201 - a CompiledProblem
    """pdec's compiled spec of ``problem``, with its sampler and network class patched to start where DeepXDE does.

    ``start`` says what comes from DeepXDE: ``both`` (its points and weights, the inputs raw as DeepXDE's are),
    ``points`` (its points; pdec's own network, drawn and parametrised as pdec's default does) or ``weights``
    (its initial weights, the inputs raw; pdec's own points)."""
    import bench_deepxde as bench
    import torch

    import pdec
    import pdec.nn.networks as networks
    from pdec.train import sampling

    torch.set_num_threads(1)
    points, layers = deepxde_start(problem, seed)
    compiled = pdec.compile(bench.spec_path(problem), **({} if start == "points" else {"inputs": "raw"}))
    if start != "weights":
        table = assign(points, compiled)
        sampling.Sampler.draw = lambda self, round_=0, names=None, context=None: {
            k: v.copy() for k, v in table.items() if names is None or k in names
        }
    if start == "points":
        return compiled
    built = networks.MLP.__init__

    def from_deepxde(self, *args, **kwargs):  # DeepXDE's initial weights
        built(self, *args, **kwargs)
        mine = [m for m in self.body.modules() if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for m, (weight, bias) in zip(mine, layers, strict=True):
                m.weight.copy_(weight), m.bias.copy_(bias)

    networks.MLP.__init__ = from_deepxde
    return compiled


def run(problem: str, seed: int, start: str = "both") -> dict:
    """pdec.fit on the DeepXDE spec from DeepXDE's start; the error on the comparison's shared test set."""
    import bench_deepxde as bench

    import pdec

    compiled = from_deepxde_start(problem, seed, start)
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        result = pdec.fit(compiled, seed=seed, quiet=True, plots=False, out=Path(tmp) / "run")
        cpu = time.process_time() - cpu
    test, exact = bench.test_set(bench.CASES[problem])
    return {
        "problem": problem,
        "seed": seed,
        "errors_shared": bench.relative_errors(result.predict(test), exact),
        "cpu_seconds": cpu,
        "kept_step": result.metrics["kept_step"],
    } | ({} if start == "both" else {"start": start})


def trajectories(problem: str, seed: int, steps: int) -> dict:
    """Both tools' training loss at every Adam step for ``steps`` steps from the same start (DeepXDE's)."""
    import contextlib
    import csv
    import io

    import bench_deepxde as bench
    import deepxde as dde
    import torch

    import pdec

    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    model, _, lr, extra = bench.CASES[problem].build(dde, torch)
    model.compile("adam", lr=lr, **extra)
    with contextlib.redirect_stdout(io.StringIO()):
        history, _ = model.train(iterations=steps, display_every=1)
    theirs = [float(sum(loss)) for loss in history.loss_train]
    compiled = from_deepxde_start(problem, seed)
    with tempfile.TemporaryDirectory() as tmp:
        pdec.fit(compiled, seed=seed, quiet=True, plots=False, out=Path(tmp) / "run", adam=steps)
        with open(Path(tmp) / "run" / "history.csv") as f:
            mine = [float(row["loss"]) for row in csv.DictReader(f)]
    return {"problem": problem, "seed": seed, "kind": "trajectory", "deepxde": theirs, "pdec": mine}


def report() -> None:
    """results/deepxde_same_start.md: per problem and seed, DeepXDE's error, pdec's from DeepXDE's start and its own."""
    lines = [
        "# pdec from DeepXDE's start",
        "",
        f"{time.strftime('%Y-%m-%d')}; `benchmarks/deepxde_same_start.py` (its docstring says what it does): pdec's "
        "spec and trainer, DeepXDE's initial weights and training points, the inputs unscaled as DeepXDE's are; "
        "float32, one torch thread. DeepXDE's and pdec's own runs are bench_deepxde.py's (deepxde.jsonl). Error: "
        "relative L2 on the comparison's shared 10,000 test points, each tool's lowest-loss Adam iterate.",
    ]
    from _report import read_jsonl

    rows, comparison = read_jsonl(LOG), read_jsonl(COMPARISON)
    for problem in PROBLEMS:
        starts = {
            start: {r["seed"]: max(r["errors_shared"]) for r in rows
                    if r["problem"] == problem and "kind" not in r and r.get("start", "both") == start}
            for start in STARTS
        }
        if starts["both"]:
            lines += section(problem, starts, comparison)
        for r in rows:
            if r["problem"] == problem and r.get("kind") == "trajectory":
                lines += trajectory_lines(r)
    REPORT.write_text("\n".join(lines) + "\n")


STARTS = {  # --start: what comes from DeepXDE, and its column
    "both": "pdec from DeepXDE's start",
    "weights": "DeepXDE's weights, pdec's points",
    "points": "DeepXDE's points, pdec's network",
}


def section(problem: str, starts: dict[str, dict[int, float]], comparison: list[dict]) -> list[str]:
    """One problem's table: per seed, DeepXDE's error, pdec's from each start run (the full one's ratio), pdec's own.

    Below it, each column's median over the seeds it has, DeepXDE's and pdec's own over the same seeds.
    """
    import statistics

    own: dict[str, dict[int, float]] = {"deepxde": {}, "pdec": {}}
    for row in comparison:
        errors = row.get("errors_shared") or row.get("errors")  # DeepXDE's are on the shared test set already
        if row.get("problem") == problem and row.get("tool") in own and errors:
            own[row["tool"]][row["seed"]] = max(errors)
    runs = {k: v for k, v in starts.items() if v}
    names = [STARTS[k] for k in runs]
    header = "| seed | DeepXDE | " + " | ".join(names) + " | ratio | pdec from its own start |"
    lines = ["", f"## {problem}", "", header]
    lines.append("|---:|---:|" + "---:|" * len(names) + "---:|---:|")
    ratios = []
    cell = lambda value, form: "" if value is None else format(value, form)  # noqa: E731
    for seed in sorted(set().union(*runs.values())):
        theirs, mine = own["deepxde"].get(seed), runs["both"].get(seed)
        ratio = None if theirs is None or mine is None else mine / theirs
        ratios += [] if ratio is None else [ratio]
        found = " | ".join(cell(v.get(seed), ".4e") for v in runs.values())
        lines.append(f"| {seed} | {cell(theirs, '.4e')} | {found} | {cell(ratio, '.4f')} | "
                     f"{cell(own['pdec'].get(seed), '.2e')} |")
    if ratios:
        lines += ["", f"Ratios (pdec from DeepXDE's start / DeepXDE) {min(ratios):.4f} to {max(ratios):.4f} over "
                  f"{len(ratios)} seeds (median {statistics.median(ratios):.4f})."]
    for start, found in runs.items():
        seeds = sorted(found)
        medians = [statistics.median(found.values())] + [
            statistics.median(tool[s] for s in seeds) if all(s in tool for s in seeds) else None
            for tool in (own["deepxde"], own["pdec"])]
        lines.append(f"- {STARTS[start]}, seeds {seeds[0]}-{seeds[-1]}: median {medians[0]:.2e}, against "
                     f"DeepXDE's {cell(medians[1], '.2e') or '—'} and pdec's own {cell(medians[2], '.2e') or '—'} on "
                     "the same seeds.")
    return lines


def trajectory_lines(row: dict) -> list[str]:
    """The two tools' losses from the same start, at a few steps, and their relative difference."""
    lines = ["", f"Training loss from the same start, seed {row['seed']} (`--trajectory {len(row['pdec'])}`):", ""]
    lines += ["| Adam step | DeepXDE | pdec | relative difference |", "|---:|---:|---:|---:|"]
    steps = len(row["pdec"])
    for i in sorted({0, 1, 10, 50, 100, 200, 300, 400, steps - 1}):
        if i < min(len(row["pdec"]), len(row["deepxde"])):
            theirs, mine = row["deepxde"][i], row["pdec"][i]
            lines.append(f"| {i} | {theirs:.8e} | {mine:.8e} | {abs(mine - theirs) / abs(theirs):.1e} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", choices=PROBLEMS, default=PROBLEMS[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--trajectory", type=int, metavar="STEPS", help="both tools' losses for STEPS Adam steps")
    parser.add_argument("--start", choices=tuple(STARTS), default="both", help="what comes from DeepXDE")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the logs")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one seed
    args = parser.parse_args()
    if args.report:
        report()
        return
    sys.path.insert(0, str(HERE))
    if args.one is not None:
        found = (
            run(args.problem, args.one, args.start)
            if args.trajectory is None
            else trajectories(args.problem, args.one, args.trajectory)
        )
        print(json.dumps(found))
        return
    import subprocess

    for seed in args.seeds:  # a process per seed: the patches above stay in it
        child = [sys.executable, __file__, "--problem", args.problem, "--start", args.start, "--one", str(seed)]
        child += [] if args.trajectory is None else ["--trajectory", str(args.trajectory)]
        out = subprocess.run(child, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1]) | {"date": time.strftime("%Y-%m-%d")}
        with LOG.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(row)
    report()


if __name__ == "__main__":
    main()
