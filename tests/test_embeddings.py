"""Input maps and networks (pdec.nn.embeddings, pdec.nn.networks): exact periodicity, Fourier features, modified MLP."""

from __future__ import annotations

import pytest
import torch

import pdec
from pdec.core.errors import PdecRunError
from pdec.nn.embeddings import InputMap, input_map
from pdec.nn.networks import MLP, make_net

SPEC = (
    "var x in [-1, 3]\ntime t in [0, 2]\nfield u(x, t), v(x, t)\neq: u_t + u_x = v\neq: v_t = v_xx\n"
    "ic: u = sin(pi*x)\nic: v = 0\nperiodic: u, v, v_x in x exact\n"
)


def _derivatives(net, x, order=3):
    """The outputs and their first ``order`` x-derivatives at ``x``."""
    x = x.clone().requires_grad_(True)
    y = net(x)
    found = [y]
    for _ in range(order):
        grads = [torch.autograd.grad(found[-1][:, j].sum(), x, create_graph=True)[0][:, :1] for j in range(y.shape[1])]
        found.append(torch.cat(grads, 1))
    return found


@pytest.mark.parametrize("network, features", [("mlp", 0), ("mlp", 32), ("modified_mlp", 0), ("modified_mlp", 16)])
def test_periodic_embedding_makes_outputs_and_derivatives_exactly_periodic(network, features):
    compiled = pdec.compile(
        SPEC, dtype="float64", layers=[16, 16, 16], network=network, fourier_features=features, fourier_scale=2.0
    )
    assert "bc:periodic1" not in compiled.terms
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    t = torch.linspace(0, 2, 17, dtype=torch.float64)[:, None]
    lo, hi = torch.cat([torch.full_like(t, -1.0), t], 1), torch.cat([torch.full_like(t, 3.0), t], 1)
    for a, b in zip(_derivatives(net, lo), _derivatives(net, hi), strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-10 * (1 + float(a.detach().abs().max())))


@pytest.mark.parametrize("network, features", [("mlp", 0), ("modified_mlp", 16)])
def test_periodic_in_value_only_keeps_values_equal_and_lets_the_slope_jump(network, features):
    spec = SPEC.replace("periodic: u, v, v_x in x exact", "periodic: u, v in x exact").replace(
        "ic: u = sin(pi*x)", "ic: u = (x + 1)*(3 - x)"  # equal values at x = -1 and 3, slopes 4 and -4
    )
    compiled = pdec.compile(spec, dtype="float64", layers=[16, 16], network=network, fourier_features=features)
    assert compiled.constraints.seams == (0,)
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    assert net.embedding.width == (2 * features if features else 4)  # cos, sin, the seam's column, t
    t = torch.linspace(0, 2, 17, dtype=torch.float64)[:, None]
    lo, hi = torch.cat([torch.full_like(t, -1.0), t], 1), torch.cat([torch.full_like(t, 3.0), t], 1)
    (value_lo, slope_lo), (value_hi, slope_hi) = _derivatives(net, lo, 1), _derivatives(net, hi, 1)
    assert torch.allclose(value_lo, value_hi, rtol=0, atol=1e-12)
    assert float((slope_lo - slope_hi).abs().max()) > 1e-3  # free to differ (the seam's column: slopes pi/4, -pi/4)
    z = net.embedding(torch.tensor([[-1.0, 0.5], [1.0, 0.5], [3.0, 0.5]], dtype=torch.float64))
    if not features:
        assert torch.allclose(z[:, 2], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-15)


def test_input_map_is_off_by_default():
    assert input_map({"x": (0.0, 1.0)}, (), 0, 1.0, torch.Generator()) is None
    compiled = pdec.compile("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n")
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
    assert isinstance(net, MLP) and net.embedding is None


def test_fourier_features_width_and_seeded_frequencies():
    a = InputMap({"x": (0.0, 1.0), "t": (0.0, 1.0)}, (), 8, 3.0, torch.Generator().manual_seed(1))
    b = InputMap({"x": (0.0, 1.0), "t": (0.0, 1.0)}, (), 8, 3.0, torch.Generator().manual_seed(1))
    assert a.width == 16 and torch.equal(a.frequencies, b.frequencies)
    z = a(torch.rand(5, 2))
    assert z.shape == (5, 16) and torch.allclose(z[:, :8] ** 2 + z[:, 8:] ** 2, torch.ones(5, 8))


def test_modified_mlp_needs_equal_widths():
    compiled = pdec.compile(
        "var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n", network="modified_mlp", layers=[8, 16]
    )
    with pytest.raises(PdecRunError, match="equal hidden widths"):
        make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)


def test_modified_mlp_trains_and_exposes_its_head(tmp_path):
    compiled = pdec.compile(
        "var x in [0, 1]\nfield u(x)\neq: u_xx = -pi^2*sin(pi*x)\nbc: u = 0 on boundary exact\nexact: u = sin(pi*x)\n",
        network="modified_mlp",
        layers=[16, 16],
        fourier_features=8,
    )
    result = pdec.fit(compiled, adam=300, lbfgs=50, interior=64, lr=3e-3, out=tmp_path / "run", quiet=True, plots=False)
    assert result.metrics["errors"]["u"] < 5e-2
    assert result.net.head.out_features == 1
