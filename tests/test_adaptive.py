"""Adaptive collocation (pdec.train.adaptive): RAD and RAR-D draw where the residual is large."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import pdec
from pdec.core.errors import PdecRunError
from pdec.train.adaptive import RAD, RARD, density, point_clouds, select
from pdec.train.sampling import SamplingContext, make_sampler

# the residual of `eq: u = 0` is the network itself: a known function of x
SPEC = "var x in [0, 1]\nvar y in [0, 1]\nfield u(x, y)\neq known: u = 0\n"


def known(points: torch.Tensor) -> torch.Tensor:
    """A "network" with residual x^2 (no parameters)."""
    return points[:, :1] ** 2


def test_density_follows_the_residual():
    x = np.random.default_rng(0).random((200000, 1))
    chosen = select(x, x[:, 0], 10000, k=1.0, c=0.0, seed=1)  # p ∝ x
    assert np.mean(chosen[:, 0] < 0.5) == pytest.approx(0.25, abs=0.02)
    chosen = select(x, x[:, 0], 10000, k=1.0, c=1.0, seed=1)  # p ∝ 2x + 1: RAD's default
    assert np.mean(chosen[:, 0] < 0.5) == pytest.approx(0.375, abs=0.02)
    assert np.allclose(density(np.zeros(4), 1.0, 0.0), 0.25)  # no residual: uniform


def test_rad_draws_from_the_residual_of_the_model(tmp_path):
    compiled = pdec.compile(SPEC, sampler="rad", resample=10, interior=2000, dtype="float64")
    sampler = make_sampler(compiled, compiled.settings)
    assert isinstance(sampler, RAD)
    context = SamplingContext(known, compiled, compiled.unknowns, tmp_path)
    first = sampler.draw(0, None, context)["interior"]
    second = sampler.draw(1, None, context)["interior"]
    assert first.mean(0)[0] == pytest.approx(0.5, abs=0.02)
    assert second.shape == first.shape
    assert second.mean(0)[0] == pytest.approx(0.625, abs=0.02)  # density 3x^2 + 1 over [0, 1], halved
    assert second.mean(0)[1] == pytest.approx(0.5, abs=0.02)  # y does not matter
    assert np.array_equal(sampler.draw(1, None, context)["interior"], second)  # a round is drawn once
    clouds = point_clouds(tmp_path)
    assert sorted(clouds) == [0, 1] and np.allclose(clouds[1], second)


def test_rar_d_adds_points_where_the_residual_is_large():
    compiled = pdec.compile(SPEC, sampler="rar_d", resample=10, interior=1000, dtype="float64")
    sampler = make_sampler(compiled, compiled.settings)
    assert isinstance(sampler, RARD)
    context = SamplingContext(known, compiled, compiled.unknowns)
    rounds = [sampler.draw(r, None, context)["interior"] for r in range(3)]
    assert [len(r) for r in rounds] == [1000, 1100, 1200]
    assert np.array_equal(rounds[2][:1100], rounds[1])
    assert rounds[2][1100:, 0].mean() > 0.7  # p ∝ x^4: mean 5/6


def test_adaptive_sampler_needs_resampling():
    compiled = pdec.compile(SPEC, sampler="rad")
    with pytest.raises(PdecRunError, match="resample"):
        make_sampler(compiled, compiled.settings)


def test_a_run_records_its_point_clouds(tmp_path):
    compiled = pdec.compile(
        "var x in [0, 1]\nfield u(x)\neq: u_xx = -pi^2*sin(pi*x)\nbc: u = 0 on boundary\n", sampler="rad", resample=10
    )
    pdec.fit(compiled, adam=30, lbfgs=0, layers=[8], interior=50, out=tmp_path / "run", quiet=True, plots=False)
    assert sorted(point_clouds(tmp_path / "run")) == [0, 1, 2]


FRONT = 0.008  # half-width of the band |x - 0.5| < FRONT: 1.6% of the domain


def front(points: torch.Tensor) -> torch.Tensor:
    """A "network" whose residual is 100 on a narrow band in x and 0 elsewhere: a sharp front."""
    return torch.where((points[:, :1] - 0.5).abs() < FRONT, 100.0, 0.0).to(points)


def test_rad_reaches_the_target_density_on_a_sharp_front():
    """p ∝ e / mean(e) + 1 puts (1 + 0.016) / 2 = 51% of the points on the band; the draw must too.

    Drawn without replacement from 10 candidates per point, the band got 14% (its 10 x 1.6% share of the candidates).
    """
    compiled = pdec.compile(SPEC, sampler="rad", resample=10, interior=2000, dtype="float64")
    sampler = make_sampler(compiled, compiled.settings)
    context = SamplingContext(front, compiled, compiled.unknowns)
    candidates, errors = sampler.candidates("interior", 1, context)
    on_band = np.abs(candidates[:, 0] - 0.5) < FRONT
    target = density(errors, 1.0, 1.0)[on_band].sum()
    assert target == pytest.approx(0.508, abs=0.005)
    chosen = sampler.draw(1, None, context)["interior"]
    assert len(chosen) == 2000
    assert np.mean(np.abs(chosen[:, 0] - 0.5) < FRONT) == pytest.approx(target, abs=0.03)
    x = np.random.default_rng(0).random((20000, 1))  # the bare draw: 10 candidates per point
    band = np.abs(x[:, 0] - 0.5) < FRONT
    e = np.where(band, 100.0, 0.0)
    chosen = select(x, e, 2000, k=1.0, c=1.0, seed=1)
    assert np.mean(np.abs(chosen[:, 0] - 0.5) < FRONT) == pytest.approx(density(e, 1.0, 1.0)[band].sum(), abs=0.03)


def _rank_draws(rank: int, world: int, tmp: str) -> None:
    """One gloo rank: draw RAD round 1 where each rank's "network" differs; write the points it got."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=world)
    try:
        compiled = pdec.compile(SPEC, sampler="rad", resample=10, interior=500, dtype="float64")
        sampler = make_sampler(compiled, compiled.settings)

        def net(points: torch.Tensor) -> torch.Tensor:  # rank 1's residual sits elsewhere
            return points[:, :1] ** 2 if rank == 0 else (1 - points[:, :1]) ** 8

        points = sampler.draw(1, None, SamplingContext(net, compiled, compiled.unknowns))["interior"]
        with open(f"{tmp}/rank{rank}.json", "w") as f:
            json.dump(points.tolist(), f)
    finally:
        dist.destroy_process_group()


def test_rad_round_is_drawn_on_rank_zero_and_broadcast(tmp_path):
    """Two gloo ranks whose residuals differ get rank 0's points: the round is drawn once and broadcast."""
    mp.spawn(_rank_draws, args=(2, str(tmp_path)), nprocs=2)
    ranks = [np.array(json.loads((tmp_path / f"rank{r}.json").read_text())) for r in (0, 1)]
    assert np.array_equal(ranks[0], ranks[1])
    assert ranks[0][:, 0].mean() == pytest.approx(0.625, abs=0.03)  # rank 0's density 3x^2 + 1, not rank 1's
