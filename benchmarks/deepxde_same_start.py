"""pdec from DeepXDE's own start: its initial weights, its training points, its inputs as they are (a diagnostic).

The comparison in bench_deepxde.py gives both tools the same network, loss and Adam steps, but each draws its own
initial weights and points. Where the two differ by more than the seeds' scatter, this script tells an implementation
difference from a difference of draws: for each seed it builds DeepXDE's model exactly as bench_deepxde.py does
(``dde.config.set_random_seed(seed)``, then the script's data and network), copies DeepXDE's initial weights into
pdec's network, hands pdec DeepXDE's training points (each of pdec's point sets the rows of DeepXDE's ``train_x_all``
on its face, the interior the rest), and trains pdec's spec with pdec.fit. pdec's inputs are left unscaled here (its
networks map the box onto [-1, 1] by default), since DeepXDE's are. If the two implementations compute the same loss,
gradient and Adam step, the errors agree seed for seed up to float32 round-off.

This reaches into pdec (its sampler and network class) for the experiment only; no setting of pdec does this.

    python benchmarks/deepxde_same_start.py --seeds 0 1 2 3 4   # diffusion_1d: results/deepxde_same_start.jsonl
    python benchmarks/deepxde_same_start.py --report            # rewrites results/deepxde_same_start.md
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
PROBLEM = "diffusion_1d"  # the row this was written for; any box problem whose point sets lie on faces would do


def deepxde_start(seed: int):
    """DeepXDE's model for ``seed`` as bench_deepxde.py builds it: its training points and initial linear layers."""
    import bench_deepxde as bench
    import deepxde as dde
    import torch

    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    model, *_ = bench.CASES[PROBLEM].build(dde, torch)
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


def run(seed: int) -> dict:
    """pdec.fit on the DeepXDE spec from DeepXDE's start; the error on the comparison's shared test set."""
    import bench_deepxde as bench
    import torch

    import pdec
    import pdec.nn.networks as networks
    from pdec.train import sampling

    torch.set_num_threads(1)
    points, layers = deepxde_start(seed)
    case = bench.CASES[PROBLEM]
    compiled = pdec.compile(bench.SPECS / f"{case.pdec_file or case.pdec_spec or PROBLEM}.pde")
    table = assign(points, compiled)
    sampling.Sampler.draw = lambda self, round_=0, names=None, context=None: {
        k: v.copy() for k, v in table.items() if names is None or k in names
    }
    built = networks.MLP.__init__

    def from_deepxde(self, *args, **kwargs):  # the inputs as they are, DeepXDE's initial weights
        built(self, *args, **kwargs)
        self.lo.zero_(), self.scale.fill_(1.0), self.offset.zero_()
        mine = [m for m in self.body.modules() if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for m, (weight, bias) in zip(mine, layers, strict=True):
                m.weight.copy_(weight), m.bias.copy_(bias)

    networks.MLP.__init__ = from_deepxde
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        result = pdec.fit(compiled, seed=seed, quiet=True, plots=False, out=Path(tmp) / "run")
        cpu = time.process_time() - cpu
    test, exact = bench.test_set(bench.CASES[PROBLEM])
    return {
        "problem": PROBLEM,
        "seed": seed,
        "errors_shared": bench.relative_errors(result.predict(test), exact),
        "cpu_seconds": cpu,
        "kept_step": result.metrics["kept_step"],
    }


def report() -> None:
    """results/deepxde_same_start.md: per seed, DeepXDE's error, pdec's from DeepXDE's start, pdec's from its own."""
    import statistics

    same = {r["seed"]: r for r in map(json.loads, LOG.read_text().splitlines()) if r["problem"] == PROBLEM}
    own: dict[str, dict[int, float]] = {"deepxde": {}, "pdec": {}}
    for row in map(json.loads, COMPARISON.read_text().splitlines()):
        errors = row.get("errors_shared") or row.get("errors")  # DeepXDE's are on the shared test set already
        if row.get("problem") == PROBLEM and row.get("tool") in own and errors:
            own[row["tool"]][row["seed"]] = max(errors)
    lines = [
        f"# pdec from DeepXDE's start ({PROBLEM})",
        "",
        f"{time.strftime('%Y-%m-%d')}; `benchmarks/deepxde_same_start.py` (its docstring says what it does): pdec's "
        "spec and trainer, DeepXDE's initial weights and training points, the inputs unscaled as DeepXDE's are; "
        "float32, one torch thread. DeepXDE's and pdec's own runs are bench_deepxde.py's (deepxde.jsonl). Error: "
        "relative L2 on the comparison's shared 10,000 test points, each tool's lowest-loss Adam iterate.",
        "",
        "| seed | DeepXDE | pdec from DeepXDE's start | ratio | pdec from its own start |",
        "|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for seed in sorted(same):
        mine, theirs = max(same[seed]["errors_shared"]), own["deepxde"].get(seed)
        ratio = "" if theirs is None else f"{mine / theirs:.4f}"
        ratios += [] if theirs is None else [mine / theirs]
        pdec = own["pdec"].get(seed)
        lines.append(
            f"| {seed} | {'' if theirs is None else f'{theirs:.4e}'} | {mine:.4e} | {ratio} | "
            f"{'' if pdec is None else f'{pdec:.2e}'} |"
        )
    if ratios:
        lines += [
            "",
            f"Ratios {min(ratios):.4f} to {max(ratios):.4f} over {len(ratios)} seeds (median "
            f"{statistics.median(ratios):.4f}).",
        ]
    REPORT.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the logs")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one seed
    args = parser.parse_args()
    if args.report:
        report()
        return
    sys.path.insert(0, str(HERE))
    if args.one is not None:
        print(json.dumps(run(args.one)))
        return
    import subprocess

    for seed in args.seeds:  # a process per seed: the patches above stay in it
        out = subprocess.run([sys.executable, __file__, "--one", str(seed)], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1]) | {"date": time.strftime("%Y-%m-%d")}
        with LOG.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(row)
    report()


if __name__ == "__main__":
    main()
