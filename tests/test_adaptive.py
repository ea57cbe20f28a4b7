"""Adaptive collocation (pdec.adaptive): RAD and RAR-D draw where the residual is large."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pdec
from pdec.adaptive import RAD, RARD, density, point_clouds, select
from pdec.errors import PdecRunError
from pdec.sampling import SamplingContext, make_sampler

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
    compiled.train(adam=30, lbfgs=0, layers=[8], interior=50, out=tmp_path / "run", quiet=True, plots=False)
    assert sorted(point_clouds(tmp_path / "run")) == [0, 1, 2]
