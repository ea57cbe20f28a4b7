"""Causal training (pdec.causal): time-binned residual weights ``w_i = exp(-eps * sum_{k<i} L_k)``."""

from __future__ import annotations

import pytest
import torch

import pdec
from pdec.causal import Causal, make_causal
from pdec.errors import PdecRunError

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
    result = compiled.train(adam=20, lbfgs=2, layers=[8, 8], interior=64, out=tmp_path / "r", quiet=True, plots=False)
    assert 0 < result.history.rows[-1]["causal:min_weight"] <= 1
    steady = pdec.compile("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n", causal=1.0)
    with pytest.raises(PdecRunError, match="needs a time variable"):
        make_causal(steady, steady.settings)
