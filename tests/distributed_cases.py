"""Small runs for the data-parallel tests: each case trained by one process, or by ranks of a gloo process group."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BURGERS = """var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const nu = 0.01/pi
eq burgers: u_t + u*u_x = nu * u_xx
ic initial: u = -sin(pi*x)
bc left: u = 0 at x = -1
bc right: u = 0 at x = 1
"""

HEAT_INVERSE = """var x in [0, 1]
time t in [0, 1]
field u(x, t)
unknown k = 1 positive true 0.4
eq heat: u_t = k * u_xx
ic: u = sin(pi*x)
bc ends: u = 0 on boundary(x)
data readings: "{data}" x = x, t = t, u = u
train:
  stage: readings for 20
"""

# Odd point counts: the two ranks hold shards of different sizes (and a condition at one point lives on rank 0).
COMMON = dict(layers=[8, 8], dtype="float64", interior=61, boundary=11, eval_points=64, eval_every=10)
CASES = {
    "burgers": (BURGERS, dict(COMMON, adam=40, lbfgs=10, update_every=5, resample=20)),
    # the default second phase (self-scaled Broyden, a dense matrix per rank) on the all-reduced loss and gradient
    "burgers_ssbroyden": (BURGERS, dict(COMMON, adam=30, optimizer="ssbroyden", iterations=20)),
    "heat_inverse": (None, dict(COMMON, adam=50, lbfgs=10, weighting="max_avg", update_every=3, fit_unknowns=10)),
    "burgers_windows": (BURGERS + "train:\n  windows = 2\n", dict(COMMON, adam=20, lbfgs=5, update_every=5)),
    "poisson_points": (ROOT / "examples/poisson1d.pde", dict(COMMON, adam=50, lbfgs=0, weighting="relobralo")),
    # NaN in the network after step 12 (one rank only), then Ctrl-C after step 20 (one rank only): see faults()
    "faults": (ROOT / "examples/poisson1d.pde", dict(COMMON, adam=50, lbfgs=0)),
}
POISON_AFTER, INTERRUPT_AFTER = 12, 20


def faults(trainer, row) -> None:
    """Poison the output layer with NaN once after step POISON_AFTER; send this process SIGINT after INTERRUPT_AFTER."""
    import math
    import os
    import signal

    if row["step"] == POISON_AFTER and not trainer.state.rollbacks:
        trainer.state.net.head.weight.data.fill_(math.nan)
    if row["step"] == INTERRUPT_AFTER:
        os.kill(os.getpid(), signal.SIGINT)


def spec_text(name: str) -> str:
    """The spec of case ``name``."""
    spec = CASES[name][0]
    if spec is None:
        return HEAT_INVERSE.format(data=ROOT / "examples/data/heat_obs.csv")
    return spec if isinstance(spec, str) else spec.read_text()


def run_case(name: str, out: Path, faulty: bool = True) -> list[dict]:
    """Train case ``name`` into ``out`` (quiet, no plots); its history rows without the wall time.

    The ``faults`` case injects its faults only where ``faulty``; its last row says whether the run was interrupted.
    """
    import torch

    import pdec
    from pdec import fit

    torch.set_num_threads(1)
    compiled = pdec.compile(spec_text(name), dtype="float64")
    callback = faults if name == "faults" and faulty else None
    result = fit(compiled, out=out, quiet=True, plots=False, callback=callback, **CASES[name][1])
    rows = [{k: v for k, v in row.items() if k != "time"} for row in result.history.rows]
    if name == "faults":
        rows.append({"interrupted": result.interrupted, "rollbacks": result.metrics["rollbacks"]})
    return rows


def rank_main(rank: int, world: int, tmp: str, names: list[str]) -> None:
    """One rank of a gloo group: train every case; write its rows to ``<tmp>/<case>-rank<r>.json``."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=world)
    try:
        for name in names:
            rows = run_case(name, Path(tmp) / name, faulty=rank == 1)
            (Path(tmp) / f"{name}-rank{rank}.json").write_text(json.dumps(rows))
    finally:
        dist.destroy_process_group()
