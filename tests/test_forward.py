"""The forward-mode lowering: residuals and parameter gradients equal the autograd lowering's, on every example."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiler import expressions, make  # noqa: E402 - the random expressions of the compiler's tests

import pdec
from pdec.compiler import compile as compile_spec
from pdec.derivatives import format_plan
from pdec.forward import faa_di_bruno
from pdec.nets import MLP, build_net
from pdec.problem import Equation
from pdec.registry import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.pde"))

# Mixed partials up to order 5 in three variables, every one needed at once.
HIGH_ORDER = """
var x in [-1, 1]
var y in [0, 2]
var z in [0.5, 1]
field u(x, y, z), v(x, y, z)
eq fifth: u_xxxxx + u_xxyyz + u_xyz*v_zz + v_yyyy = 0
eq mixed: u_xy + v_xz + u*v_x = 0
bc edge: u_x = 0 at x = -1
"""


def both(spec, dtype="float64", **overrides):
    """The spec compiled with each lowering."""
    return (compile_spec(spec, dtype=dtype, lowering=lowering, **overrides) for lowering in ("forward", "autograd"))


def random_net(compiled, activation="tanh", layers=(10, 9, 8), seed=0):
    """pdec's MLP for ``compiled``, with biases and weights perturbed off their initial values."""
    net = build_net(compiled.variables, compiled.bounds, compiled.fields, list(layers), activation, seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    return net.to(compiled.dtype)


def points_and_targets(compiled, n=9, seed=0):
    """A few random points per point set (data sets: their first rows) and the data sets' targets."""
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([compiled.bounds[v][0] for v in compiled.variables], dtype=torch.float64)
    hi = torch.tensor([compiled.bounds[v][1] for v in compiled.variables], dtype=torch.float64)
    points, targets = {}, {}
    for name, ps in compiled.point_sets.items():
        if ps.data is not None:
            points[name] = ps.data.points[:n].to(compiled.dtype)
            targets[name] = ps.data.targets[:n].to(compiled.dtype)
            continue
        x = lo + (hi - lo) * torch.rand(n, len(lo), generator=g, dtype=torch.float64)
        for var, value in ps.region.items():
            x[:, compiled.variables.index(var)] = value
        points[name] = x.to(compiled.dtype)
    return points, targets


def residuals_and_gradients(compiled, net, points, targets):
    """The residuals and the gradient of their summed mean squares w.r.t. every parameter of ``net``."""
    res = compiled.evaluate(net, points, targets)
    loss = sum(r.pow(2).mean() for r in res.values())
    if not loss.requires_grad:  # a residual without any field
        return res, [torch.zeros_like(p) for p in net.parameters()]
    return res, torch.autograd.grad(loss, list(net.parameters()), allow_unused=True, materialize_grads=True)


def assert_lowerings_agree(forward, autograd, net, tol=1e-12, seed=0):
    """Both lowerings give the same residuals and parameter gradients (relative to each tensor's largest entry)."""
    points, targets = points_and_targets(forward, seed=seed)
    res_f, grad_f = residuals_and_gradients(forward, net, points, targets)
    res_a, grad_a = residuals_and_gradients(autograd, net, points, targets)
    assert res_f.keys() == res_a.keys()
    for name in res_a:
        scale = float(res_a[name].detach().abs().max()) + 1e-300
        assert float((res_f[name] - res_a[name]).detach().abs().max()) <= tol * scale, name
    for gf, ga in zip(grad_f, grad_a, strict=True):
        assert float((gf - ga).abs().max()) <= tol * (float(ga.abs().max()) + 1e-300)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_agrees_with_autograd_in_float64(path):
    forward, autograd = both(path)
    assert_lowerings_agree(forward, autograd, random_net(forward))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_agrees_with_autograd_in_float32(path):
    forward, autograd = both(path, dtype="float32")
    assert_lowerings_agree(forward, autograd, random_net(forward), tol=2e-4)


@pytest.mark.parametrize("activation", ACTIVATIONS.names)
def test_every_activation_to_order_five_with_mixed_partials(activation):
    forward, autograd = both(HIGH_ORDER)
    assert_lowerings_agree(forward, autograd, random_net(forward, activation, layers=(7, 6)), tol=1e-10)


def test_the_output_map_and_a_one_layer_net():
    forward, autograd = both(ROOT / "examples" / "kovasznay.pde")
    net = random_net(forward, layers=(6,))
    net.scale_outputs([0.5, -1.0, 2.0], [3.0, 0.25, 1.5])
    assert_lowerings_agree(forward, autograd, net)


def test_softplus_beyond_its_threshold_and_relu_at_its_kink():
    forward, autograd = both(ROOT / "examples" / "kuramoto_sivashinsky.pde")
    for activation in ("softplus", "relu"):
        net = random_net(forward, activation, layers=(5, 5))
        with torch.no_grad():
            net.body[0].bias[:2] = 30.0  # pre-activations above softplus's threshold 20
        assert_lowerings_agree(forward, autograd, net)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exprs=st.lists(expressions(), min_size=1, max_size=3))
def test_random_expressions_agree_with_autograd(exprs):
    equations = tuple(Equation(f"e{i}", e, sympy.S.Zero) for i, e in enumerate(exprs))
    problem = make([("x", -1.0, 1.0), ("y", -1.0, 1.0)], "uv", equations)
    forward, autograd = both(problem)
    assert_lowerings_agree(forward, autograd, random_net(forward, layers=(6, 6)), tol=1e-10)


def test_partials_to_order_five_against_finite_differences():
    spec = "var x in [-1, 1]\nvar y in [0, 1]\nfield u(x, y)\n" + "".join(
        f"eq d{k}: u_{'x' * k} = 0\n" for k in range(1, 6)
    )
    forward = compile_spec(spec, dtype="float64", lowering="forward")
    net = random_net(forward, layers=(8, 8))
    X = torch.tensor([[0.1, 0.3], [-0.4, 0.7]], dtype=torch.float64)
    res = forward.evaluate(net, {"interior": X})
    h = 0.02
    for k in range(1, 6):  # central differences with step h: error O(h**2)
        offsets = torch.arange(-k, k + 1, 2, dtype=torch.float64)
        weights = [(-1) ** ((k - int(o)) // 2) * math.comb(k, (k - int(o)) // 2) for o in offsets.tolist()]
        rows = [net(X + torch.tensor([[o * h, 0.0]], dtype=torch.float64)) for o in offsets.tolist()]
        fd = sum(w * r for w, r in zip(weights, rows, strict=True)) / (2 * h) ** k
        got = res[f"pde:d{k}"]
        assert torch.allclose(got, fd.detach(), rtol=5e-3, atol=5e-3 * float(got.detach().abs().max())), k


def test_other_networks_take_the_autograd_path():
    forward, autograd = both(ROOT / "examples" / "burgers.pde")
    points, _ = points_and_targets(forward)
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).double()

    class Shifted(MLP):  # a subclass that changes forward: not described by forward_mode_layers
        def forward(self, x):
            return super().forward(x) + 1.0

    shifted = Shifted(forward.bounds, forward.fields, [6]).double()
    assert shifted.forward_mode_layers() is None
    for net in (plain, lambda X: plain(X), shifted):
        got, want = forward.evaluate(net, points), autograd.evaluate(net, points)
        for name in want:
            assert torch.equal(got[name], want[name]), name


def test_forward_mode_runs_under_no_grad():
    forward, autograd = both(ROOT / "examples" / "heat.pde")
    net = random_net(forward)
    points, _ = points_and_targets(forward)
    with torch.no_grad():
        got = forward.evaluate(net, points)
    want = autograd.evaluate(net, points)
    for name in want:
        assert torch.allclose(got[name], want[name].detach(), rtol=1e-12, atol=1e-14)


def test_plan_names_the_lowering_and_the_carried_partials():
    forward, autograd = both(ROOT / "examples" / "kuramoto_sivashinsky.pde")
    text = format_plan(forward)
    assert text.startswith("lowering: forward")
    assert "forward mode: 5 partials through each layer (x, t, x__x, x__x__x, x__x__x__x)" in text
    assert format_plan(autograd).startswith("lowering: autograd")


def test_emitted_forward_module_is_standalone(tmp_path):
    forward = compile_spec(ROOT / "examples" / "kovasznay.pde", dtype="float64", lowering="forward")
    source = pdec.compiler.emit(forward)
    assert "import pdec" not in source and "from pdec" not in source
    assert "def jet_interior(mlp, X):" in source and "def mlp_layers(net):" in source
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "kovasznay.py"), "exec"), namespace)  # noqa: S102 - the generated module
    net = random_net(forward)
    points, _ = points_and_targets(forward)
    got = namespace["residuals"](net, points, forward.unknowns.values())
    want = forward.evaluate(net, points)
    for name in want:
        assert torch.equal(got[name], want[name])


def test_faa_di_bruno_counts_set_partitions():
    assert faa_di_bruno((2,)) == ((1, ((2,),)), (1, ((1,), (1,))))
    bell = [sum(n for n, _ in faa_di_bruno((k,))) for k in range(1, 6)]
    assert bell == [1, 2, 5, 15, 52]  # the Bell numbers: every set partition once
    mixed = dict((blocks, n) for n, blocks in faa_di_bruno((1, 1)))
    assert mixed == {((1, 1),): 1, ((1, 0), (0, 1)): 1}


def test_lowering_is_a_compile_time_setting():
    assert compile_spec(ROOT / "examples" / "heat.pde", lowering="autograd").options.lowering == "autograd"
    with pytest.raises(pdec.errors.PdecError, match="compile-time"):
        compile_spec(ROOT / "examples" / "heat.pde").train(lowering="forward", adam=1)


def test_plan_and_emit_take_the_lowering_from_the_command_line(capsys):
    from pdec.cli import main

    spec = str(ROOT / "examples" / "burgers.pde")
    assert main(["plan", spec]) == 0  # the default: forward
    assert "forward mode: 3 partials through each layer (x, t, x__x)" in capsys.readouterr().out
    assert main(["plan", spec, "--lowering", "autograd"]) == 0
    assert capsys.readouterr().out.startswith("lowering: autograd")
    assert main(["emit", spec]) == 0
    assert "def jet_interior" in capsys.readouterr().out
    assert main(["emit", spec, "--lowering", "autograd"]) == 0
    assert "def jet_interior" not in capsys.readouterr().out
