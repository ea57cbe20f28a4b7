"""Causal training (pdec.train.causal): time-binned residual weights ``w_i = exp(-eps * sum_{k<i} L_k)``."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

import pdec
from pdec.core.errors import PdecRunError
from pdec.run.history import Row
from pdec.train.best import BestIterate
from pdec.train.causal import Causal, make_causal

ADVECTION = (
    "var x in [0, 1]\ntime t in [0, 2]\nfield u(x, t)\neq adv: u_t + u_x = 0\nic: u = sin(2*pi*x)\nperiodic: u in x\n"
)


def _causal(eps=1.0, bins=8):
    return Causal(1, (0.0, 2.0), eps, bins, ("pde:adv",))


def test_weights_are_monotone_in_time():
    causal = _causal()
    t = torch.linspace(0, 2, 400)[:, None]
    residual = torch.randn(400, 1, generator=torch.Generator().manual_seed(0))
    w = causal.weights(causal.bin_losses(residual, t))
    assert w[0] == 1 and torch.all(w[1:] <= w[:-1]) and w[-1] < 1


def test_weights_reach_one_when_earlier_residuals_are_small():
    causal = _causal(eps=10.0)
    t = torch.linspace(0, 2, 800)[:, None]
    residual = torch.where(t < 1.5, 1e-8, 1.0)  # resolved until t = 1.5
    w = causal.weights(causal.bin_losses(residual, t))
    assert torch.allclose(w[:7], torch.ones(7), atol=1e-6)  # up to the first unresolved bin (its own residual
    assert w[7] < 1e-3  # does not lower its weight); after it, the weight falls
    big = causal.weights(causal.bin_losses(torch.ones_like(t), t))
    assert big[-1] < 1e-20  # a large early residual switches later times off


def test_no_gradient_flows_through_the_weights():
    causal = _causal(eps=2.0, bins=4)
    t = torch.tensor([[0.1], [0.6], [1.1], [1.6]])
    r = torch.tensor([[1.0], [2.0], [0.5], [1.0]], requires_grad=True)
    loss = causal.loss(r, t)
    loss.backward()
    w = causal.weights(r.detach().pow(2)[:, 0])
    assert torch.allclose(r.grad[:, 0], w * 2 * r.detach()[:, 0] / 4)  # d/dr of (1/M) sum w_i r_i^2
    assert causal.min_weight == pytest.approx(float(w.min()))


def test_causal_setting_switches_it_on_and_needs_time(tmp_path):
    assert make_causal(pdec.compile(ADVECTION), pdec.compile(ADVECTION).settings) is None
    compiled = pdec.compile(ADVECTION, causal=1.0, causal_bins=4)
    causal = make_causal(compiled, compiled.settings)
    assert (causal.column, causal.bins, causal.terms) == (1, 4, ("pde:adv",))
    result = pdec.fit(compiled, adam=20, lbfgs=2, layers=[8, 8], interior=64, out=tmp_path / "r", quiet=True,
                      plots=False)
    assert 0 < result.history.rows[-1]["causal:min_weight"] <= 1
    steady = pdec.compile("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n", causal=1.0)
    with pytest.raises(PdecRunError, match="needs a time variable"):
        make_causal(steady, steady.settings)


def _binned(losses: list[float], per_bin: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Interior points ``[N, 2]`` (x, t in [0, 2]) and a residual ``[N, 1]`` whose bin i has mean square losses[i]."""
    bins = len(losses)
    t = (torch.arange(bins * per_bin, dtype=torch.float64) + 0.5) * (2.0 / (bins * per_bin))
    residual = torch.cat([torch.full((per_bin,), v**0.5, dtype=torch.float64) for v in losses])[:, None]
    return torch.column_stack([torch.rand(len(t), dtype=torch.float64), t]), residual


def test_a_system_shares_the_smallest_weights_of_its_equations():
    """jaxpi's rule: each equation's weights from its own bins, every equation weighted by their minimum."""
    causal = Causal(1, (0.0, 2.0), 1.0, 4, ("pde:a", "pde:b"))
    points, ra = _binned([0.01, 0.01, 0.01, 0.01])  # equation a resolved everywhere: its own weights stay near 1
    _, rb = _binned([2.0, 1.0, 1.0, 1.0])  # equation b is not resolved at the start
    losses = causal.losses({"pde:a": ra, "pde:b": rb}, {"interior": points}, ("pde:a", "pde:b"))
    wa = torch.exp(-torch.tensor([0.0, 0.01, 0.02, 0.03], dtype=torch.float64))
    wb = torch.exp(-torch.tensor([0.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    shared = torch.minimum(wa, wb)  # = wb
    assert float(losses["pde:a"]) == pytest.approx(float((shared * 0.01).mean()), rel=1e-12)  # a waits for b
    assert float(losses["pde:b"]) == pytest.approx(float((shared * torch.tensor([2.0, 1, 1, 1])).mean()), rel=1e-12)
    row = Row(causal=causal.smallest())
    assert row["causal:min_weight:pde:a"] == pytest.approx(float(wa[-1]), rel=1e-12)  # every equation's own
    assert row["causal:min_weight:pde:b"] == pytest.approx(float(wb[-1]), rel=1e-12)
    assert row["causal:min_weight"] == pytest.approx(float(wb[-1]), rel=1e-12)  # the shared weights' smallest
    assert float(causal.plain["pde:a"]) == pytest.approx(0.01) and float(causal.plain["pde:b"]) == pytest.approx(1.25)
    alone = causal.losses({"pde:a": ra}, {"interior": points}, ("pde:a",))  # a single equation: its own weights
    assert float(alone["pde:a"]) == pytest.approx(float((wa * 0.01).mean()), rel=1e-12)
    assert set(Row(causal=causal.smallest())) == {"causal:min_weight", "causal:min_weight:pde:a"}


def test_keep_best_does_not_keep_an_iterate_worse_at_every_time():
    """The causal loss scores the worse iterate lower (its early residuals close the later weights); keep_best not."""
    causal = Causal(1, (0.0, 2.0), 1.0, 4, ("pde:adv",))
    best = BestIterate(SimpleNamespace(keep_best=True, adam=10, lbfgs=0, iterations=0), causal)
    better = [0.1, 0.1, 0.1, 10.0]
    worse = [1.0, 1.0, 1.0, 11.0]  # above `better` in every bin
    params = [torch.zeros(3)]
    scored = []
    for step, per_bin in enumerate((better, worse), start=1):
        points, residual = _binned(per_bin)
        losses = causal.losses({"pde:adv": residual}, {"interior": points}, ("pde:adv",))
        values = {k: float(v) for k, v in losses.items()}
        scored.append(values["pde:adv"])
        params[0].fill_(step)
        best.offer(("round", ("pde:adv",)), step, values, {"pde:adv": 1.0}, params)
    assert scored[1] < 0.5 * scored[0]  # causal: 0.51 against 1.92, the worse iterate "wins"
    assert best.step == 0 and float(best.params[0][0]) == 1  # kept: the iterate of step 1, the better one
    assert best.losses == {"pde:adv": pytest.approx(2.575)}  # its plain mean square, (0.1 * 3 + 10) / 4


def test_a_run_records_every_equation_s_smallest_weight_and_keeps_best_on_plain_losses(tmp_path):
    system = ADVECTION.replace("field u(x, t)", "field u(x, t), v(x, t)").replace(
        "periodic: u in x\n", "periodic: u, v in x\neq link: v_t + v_x = 0\nic: v = cos(2*pi*x)\n"
    )
    compiled = pdec.compile(system, causal=1.0, causal_bins=4)
    seen = []

    def watch(trainer, row):
        seen.append(trainer.state.best.causal is trainer.causal)

    result = pdec.fit(
        compiled, adam=10, lbfgs=0, layers=[8], interior=64, out=tmp_path / "r", quiet=True, plots=False, callback=watch
    )
    row = result.history.rows[-1]
    own = [row["causal:min_weight:pde:adv"], row["causal:min_weight:pde:link"]]
    assert 0 < row["causal:min_weight"] == pytest.approx(min(own))  # the shared weights: the smaller of the two
    assert all(seen)
