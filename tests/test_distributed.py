"""Data parallelism: two gloo ranks train exactly what one process trains on the union of their points."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from distributed_cases import CASES, INTERRUPT_AFTER, ROOT, rank_main, run_case, spec_text

import pdec
from pdec.core.errors import PdecRunError
from pdec.train.distributed import Shards

TOLERANCE = 1e-6  # relative; measured agreement is at most 8e-15 in float64


def _worst(single: list[dict], ranked: list[dict]) -> float:
    """The largest relative difference between two histories (same rows and keys required)."""
    assert len(single) == len(ranked)
    worst = 0.0
    for a, b in zip(single, ranked, strict=True):
        assert a.keys() == b.keys()
        for k, v in a.items():
            if isinstance(v, float):
                worst = max(worst, abs(v - b[k]) / max(abs(v), abs(b[k]), 1e-12))
            else:
                assert v == b[k], (a["step"], k)
    return worst


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Every case trained by two gloo ranks (one spawn for all cases); their history rows by case and rank."""
    tmp = tmp_path_factory.mktemp("ranks")
    mp.spawn(rank_main, args=(2, str(tmp), list(CASES)), nprocs=2)
    rows = {(name, r): json.loads((tmp / f"{name}-rank{r}.json").read_text()) for name in CASES for r in (0, 1)}
    return tmp, rows


@pytest.mark.parametrize("name", list(CASES))
def test_two_ranks_equal_one_process(two_ranks, tmp_path, name):
    """Losses, weights, unknowns and errors of every row equal the one-process run on the union of the points."""
    _, rows = two_ranks
    single = json.loads(json.dumps(run_case(name, tmp_path / "single")))
    assert rows[(name, 0)] == rows[(name, 1)]  # every rank holds the same weights and unknowns, bit for bit
    assert _worst(single, rows[(name, 0)]) <= TOLERANCE


def test_the_inverse_case_fits_and_moves_its_unknown(two_ranks):
    """The frozen-network fit ran at the stage switch (step 21) on both ranks: k left its initial value there."""
    _, rows = two_ranks
    k = {row["step"]: row["unknown:k"] for row in rows[("heat_inverse", 0)]}
    assert k[20] == 1.0 and abs(k[21] - 1.0) > 0.1


def test_a_fault_on_one_rank_acts_on_every_rank(two_ranks):
    """NaN on rank 1 alone rolls both ranks back; Ctrl-C on rank 1 alone stops both after the same step.

    Both histories equal the one-process run with the same faults (test_two_ranks_equal_one_process, case faults).
    """
    tmp, rows = two_ranks
    for r in (0, 1):
        *history, last = rows[("faults", r)]
        assert last == {"interrupted": True, "rollbacks": 1}
        assert history[-1]["step"] == INTERRUPT_AFTER
        lr = json.loads((tmp / "faults" / "settings.json").read_text())["lr"]
        assert history[-1]["lr"] == 0.5 * lr  # the rollback halved the learning rate
    from pdec.run.results import load_checkpoint

    assert load_checkpoint(tmp / "faults")["step"] == INTERRUPT_AFTER


def test_the_checkpoint_records_the_world_size_and_one_process_refuses_it(two_ranks):
    """The 2-rank run's checkpoint says 2 processes; resuming it in one process is a PdecRunError naming both."""
    from pdec import fit
    from pdec.run.results import load_checkpoint

    tmp, _ = two_ranks
    assert load_checkpoint(tmp / "burgers")["meta"]["world_size"] == 2
    compiled = pdec.compile(spec_text("burgers"), dtype="float64")
    with pytest.raises(PdecRunError, match="2 processes, this run has 1") as found:
        fit(compiled, resume=tmp / "burgers", quiet=True, plots=False)
    assert "--nproc-per-node 2" in str(found.value)


def test_shards_partition_every_set_in_rank_order():
    """The ranks' rows of a set of n, in rank order, are the set itself, for sizes below and above the world."""
    for world in (1, 2, 3, 4):
        for n in (0, 1, 3, 61, 64):
            parts = [list(range(n))[Shards(world, r).rows(n)] for r in range(world)]
            assert sum(parts, []) == list(range(n))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_one_process_is_the_identity():
    """Without a process group the shards change nothing: the same arrays, the plain mean, the values as floats."""
    shards = Shards.current()
    assert not shards.active and shards.world == 1
    array = torch.arange(6.0).reshape(3, 2)
    assert shards.take("interior", array) is array
    residual = torch.randn(5, 2, dtype=torch.float64)
    assert torch.equal(shards.mean_square(residual, ["interior"]), residual.pow(2).mean())
    assert shards.values({"a": torch.tensor(2.5)}) == {"a": 2.5}
    assert shards.gather({"a": array})["a"] is array
    assert shards.any(True) and not shards.any(False)


def test_run_arguments_pass_every_option_but_nproc():
    """``pdec run --nproc 2 ...`` starts torchrun with the same run options, minus --nproc."""
    from pdec.cli import build_parser, run_arguments

    args = build_parser().parse_args(["run", "a.pde", "--nproc", "2", "--steps", "5", "--quiet", "--out", "r"])
    assert run_arguments(args) == ["a.pde", "--adam", "5", "--out", "r", "--quiet"]


def test_pdec_run_nproc_trains_with_torchrun(tmp_path):
    """``pdec run --nproc 2`` runs torchrun: one run directory, written once, with a 2-process checkpoint."""
    out = tmp_path / "run"
    spec = ROOT / "examples/poisson1d.pde"
    command = [sys.executable, "-m", "pdec", "run", str(spec), "--nproc", "2", "--steps", "5", "--lbfgs", "0"]
    done = subprocess.run([*command, "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    from pdec.run.results import load_checkpoint

    saved = load_checkpoint(out)
    assert saved["meta"]["world_size"] == 2 and saved["step"] == 5
    assert math.isfinite(json.loads((out / "metrics.json").read_text())["loss"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_run_equals_cpu_run(tmp_path):
    """On a GPU, the Burgers case in float64 follows the CPU run (one process) to 1e-6."""
    cpu = json.loads(json.dumps(run_case("burgers", tmp_path / "cpu")))
    CASES["burgers"][1]["device"] = "cuda"
    try:
        gpu = json.loads(json.dumps(run_case("burgers", tmp_path / "gpu")))
    finally:
        del CASES["burgers"][1]["device"]
    assert _worst(cpu, gpu) <= TOLERANCE


def test_causal_weights_are_refused_on_several_processes(tmp_path, monkeypatch):
    """Causal weights bin each rank's own points in time: on several processes they would differ by rank."""
    from trainer_problems import heat2d, small

    from pdec.core.errors import PdecRunError
    from pdec.train import trainer as train_module

    monkeypatch.setattr(train_module.Shards, "current", classmethod(lambda cls: Shards(world=2, rank=0)))
    with pytest.raises(PdecRunError, match="causal weights run on one process only"):
        train_module.train(heat2d(**small(causal=1.0)), out=tmp_path / "run", quiet=True)
