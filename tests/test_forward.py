"""The forward-mode lowering: residuals and parameter gradients equal the autograd lowering's, on every example."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiler import expressions, make  # noqa: E402 - the random expressions of the compiler's tests

import pdec
from pdec.compiler.constraints import Constrained
from pdec.compiler.derivatives import format_plan
from pdec.compiler.driver import compile as compile_spec
from pdec.compiler.forward import faa_di_bruno, leibniz
from pdec.core.registry import ACTIVATIONS
from pdec.language.problem import Equation
from pdec.nn.embeddings import InputMap
from pdec.nn.networks import MLP, ModifiedBody, build_net, make_net

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


def random_net(compiled, activation="tanh", layers=(10, 9, 8), seed=0, inputs="centred"):
    """pdec's MLP for ``compiled``, with biases and weights perturbed off their initial values."""
    net = build_net(compiled.variables, compiled.bounds, compiled.fields, list(layers), activation, seed, inputs)
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


@pytest.mark.parametrize("inputs", ["centred", "unit", "raw"])
def test_every_input_range_to_order_five(inputs):
    forward, autograd = both(HIGH_ORDER)
    net = random_net(forward, layers=(7, 6), inputs=inputs)
    assert float(net.offset[0]) == {"centred": 1.0, "unit": 0.0, "raw": 0.0}[inputs]
    if inputs == "raw":  # the coordinates as they are
        assert net.lo.eq(0).all() and net.scale.eq(1).all()
    assert_lowerings_agree(forward, autograd, net, tol=1e-10)


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
    source = pdec.compiler.driver.emit(forward)
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
    with pytest.raises(pdec.core.errors.PdecError, match="compile-time"):
        pdec.fit(compile_spec(ROOT / "examples" / "heat.pde"), lowering="forward", adam=1)


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


# ----------------------------------------------------------------------------------------------------------------------
# The networks pdec builds from a spec's settings: input maps, the modified MLP, exact constraints
# ----------------------------------------------------------------------------------------------------------------------

PERIODIC = """
var x in [-1, 3]
time t in [0, 2]
field u(x, t), v(x, t)
eq a: u_t + u*u_x - 0.1*u_xx + v_xt = 0
eq b: v_t + v_xxx + u*v_x = 0
ic start_u: u = sin(pi*x/2) + 1{exact_ic}
ic start_v: v = cos(pi*x/2)
periodic: u, u_x, v in x{exact_periodic}
"""

WALLS = """
var x in [0, 1]
var y in [-1, 1]
field u(x, y), v(x, y)
eq a: u_xx + u_yy + u*v_x = 1
eq b: v_xxy + u*v_y = 0
bc walls: u = x*y + 1 on boundary exact
bc side: v = cos(y) at x = 0 exact
bc other: v_x = 0 at x = 1
"""

# Periodic in value only, with an initial value whose slopes differ at the ends (4 and -4): a seam, the embedding's
# extra column sin(pi (x - lo) / L) lets the network's slopes differ there too.
SEAM = PERIODIC.replace("periodic: u, u_x, v in x", "periodic: u, v in x").replace(
    "u = sin(pi*x/2) + 1", "u = (x + 1)*(3 - x)"
)

# Exact conditions face by face: u's faces differ (the Boolean sum of their values, in space and time); v's lid and
# side disagree at their corner (each face's value on the other face, pdec.compiler.constraints.corner_value).
FACES = """
var x in [0, 1]
var y in [-1, 1]
time t in [0, 1]
field u(x, y, t), v(x, y, t)
eq a: u_t = u_xx + u_yy + u*v_x
eq b: v_t = v_xxy + u*v_y
ic: u = exp(x)*sin(y) + x*y + 1 exact
bc left: u = exp(-t)*sin(y) + 1 at x = 0 exact
bc right: u = exp(1 - t)*sin(y) + y + 1 at x = 1 exact
bc ends: u = exp(x - t)*sin(y) + x*y + 1 on boundary(y) exact
ic: v = 0
bc side: v = cos(y) at x = 0 exact
bc lid: v = 2 + x at y = 1 exact
bc other: v_x = 0 at x = 1
"""

# (spec, settings): every network pdec builds, alone and combined.
NETWORKS = {
    "periodic_embedding": (PERIODIC.format(exact_ic="", exact_periodic=" exact"), {}),
    "fourier_features": (PERIODIC.format(exact_ic="", exact_periodic=""), {"fourier_features": 6}),
    "periodic_and_fourier": (PERIODIC.format(exact_ic="", exact_periodic=" exact"), {"fourier_features": 6}),
    "modified_mlp": (PERIODIC.format(exact_ic="", exact_periodic=""), {"network": "modified_mlp"}),
    "exact_ic": (PERIODIC.format(exact_ic=" exact", exact_periodic=""), {}),
    "seam_embedding": (SEAM.format(exact_ic="", exact_periodic=" exact"), {}),
    "seam_exact_ic_modified_fourier": (
        SEAM.format(exact_ic=" exact", exact_periodic=" exact"),
        {"network": "modified_mlp", "fourier_features": 6},
    ),
    "exact_walls": (WALLS, {}),
    "exact_walls_modified_fourier": (WALLS, {"network": "modified_mlp", "fourier_features": 5}),
    "exact_faces": (FACES, {}),
    "all": (
        PERIODIC.format(exact_ic=" exact", exact_periodic=" exact"),
        {"network": "modified_mlp", "fourier_features": 6},
    ),
}


def built_net(compiled, seed=0):
    """The network pdec builds for ``compiled`` (its settings), parameters perturbed off their initial values."""
    net = make_net(compiled, compiled.settings, torch.device("cpu"), compiled.dtype)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def forward_only(net):
    """``net`` with its ``forward`` disabled (the inner network's too): the forward mode must not call it."""

    def refuse(*args):
        raise AssertionError("the forward mode called the network: it fell back to autograd")

    for module in _modules(net):
        module.forward = refuse
    return net


def restored(net):
    """``net`` with its ``forward`` back (undoes :func:`forward_only`)."""
    for module in _modules(net):
        del module.forward
    return net


def _modules(net):
    """``net``, and the network inside it if it is constrained."""
    return (net, net.net) if isinstance(net, Constrained) else (net,)


def assert_forward_mode_agrees(forward, autograd, net, tol=1e-12, seed=0):
    """The forward mode takes ``net`` without calling it, and agrees with the autograd lowering."""
    points, targets = points_and_targets(forward, seed=seed)
    carried = {k: v for k, v in points.items() if forward.plan.forward(k)}  # the others call the network
    forward.evaluate(forward_only(net), carried, targets)
    assert_lowerings_agree(forward, autograd, restored(net), tol=tol, seed=seed)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_with_its_own_network_takes_the_forward_mode_and_agrees(path):
    forward, autograd = both(path)
    net = built_net(forward)
    assert net.forward_mode_layers() is not None
    if forward.plan.any_forward:
        assert_forward_mode_agrees(forward, autograd, net)
    else:  # advection: one field's first partials, one backward pass (cheaper than carrying x and t)
        assert all(s.passes <= 1 for s in forward.plan.sets.values())
        assert_lowerings_agree(forward, autograd, net)


def test_a_point_set_with_one_backward_pass_keeps_it():
    spec = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\neq: u_t + u_x = 0\nic: u = sin(x)\nbc: u = 0 at x = 0\n"
    plan = compile_spec(spec).plan
    assert plan.lowering == "forward" and not plan.any_forward
    assert "one backward pass gives every first partial" in str(plan)
    two = compile_spec(spec.replace("u_t + u_x", "u_t + u_x - u_xx")).plan
    assert two.forward("interior") and not two.forward("ic:ic1@t=0")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_with_its_own_network_agrees_in_float32(path):
    forward, autograd = both(path, dtype="float32")
    assert_lowerings_agree(forward, autograd, built_net(forward), tol=1e-3)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_network_pdec_builds_takes_the_forward_mode_and_agrees(name):
    spec, options = NETWORKS[name]
    forward, autograd = both(spec, layers=[7, 7, 7], **options)
    net = built_net(forward)
    if "exact" in name:
        assert isinstance(net, Constrained)
    assert_forward_mode_agrees(forward, autograd, net)
    net.scale_outputs([0.5, -1.0], [3.0, 0.25])  # the output map, before the constraints
    assert_forward_mode_agrees(forward, autograd, net, seed=1)


@pytest.mark.parametrize("activation", ACTIVATIONS.names)
def test_every_activation_through_every_network_stage(activation):
    spec, options = NETWORKS["all"]
    forward, autograd = both(spec, layers=[6, 6], activation=activation, **options)
    assert_forward_mode_agrees(forward, autograd, built_net(forward), tol=1e-10)


def test_the_r_join_of_exact_walls():
    forward, autograd = both(WALLS, layers=[6, 6])
    for compiled in (forward, autograd):
        object.__setattr__(compiled, "constraints", dataclasses.replace(compiled.constraints, join="r"))
    net = built_net(forward)
    assert net.constraints.join == "r"
    assert_forward_mode_agrees(forward, autograd, net)


def test_gradients_with_respect_to_the_points_agree():
    forward, autograd = both(NETWORKS["all"][0], layers=[6, 6], **NETWORKS["all"][1])
    net = built_net(forward)
    points, _ = points_and_targets(forward)
    grads = []
    for compiled in (forward, autograd):
        X = points["interior"].clone().requires_grad_(True)
        res = compiled.evaluate(net, {"interior": X})
        grads.append(torch.autograd.grad(sum(r.pow(2).sum() for r in res.values()), X)[0])
    assert torch.allclose(grads[0], grads[1], rtol=1e-11, atol=1e-11 * float(grads[1].abs().max()))


def test_networks_pdec_did_not_build_take_the_autograd_path():
    forward, autograd = both(NETWORKS["all"][0], layers=[6, 6], **NETWORKS["all"][1])
    points, _ = points_and_targets(forward)
    net = built_net(forward)
    plain = torch.nn.Sequential(torch.nn.Linear(2, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()

    class Gated(ModifiedBody):  # a subclass that changes forward: not described
        def forward(self, z):
            return super().forward(z) * 2.0

    class Mapped(InputMap):
        def forward(self, x):
            return super().forward(x) + 1.0

    gated = built_net(forward)
    gated.net.body.__class__ = Gated
    mapped = built_net(forward)
    mapped.net.embedding.__class__ = Mapped
    wrapped = Constrained(plain, net.constraints)  # pdec's constraints around a network of one's own
    for other in (gated, mapped, wrapped):
        assert other.forward_mode_layers() is None
    for other in (plain, wrapped, lambda X: net(X)):
        got, want = forward.evaluate(other, points), autograd.evaluate(other, points)
        for name in want:
            assert torch.equal(got[name], want[name]), name


def test_the_forward_mode_with_exact_conditions_runs_under_no_grad():
    forward, autograd = both(ROOT / "examples" / "kuramoto_sivashinsky.pde", layers=[8, 8])  # exact value, periodic
    net = built_net(forward)
    points, _ = points_and_targets(forward)
    with torch.no_grad():
        got = forward.evaluate(net, points)
    want = autograd.evaluate(net, points)
    for name in want:
        assert not got[name].requires_grad
        assert torch.allclose(got[name], want[name].detach(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["allen_cahn", "kuramoto_sivashinsky"])
def test_plan_prints_the_forward_lowering_for_the_examples_with_these_networks(name, capsys):
    from pdec.cli import main

    assert main(["plan", str(ROOT / "examples" / f"{name}.pde")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("lowering: forward (pdec's networks")
    assert "forward mode:" in out and "partials through each layer" in out


def test_emitted_module_runs_the_forward_mode_of_every_network(tmp_path):
    spec, options = NETWORKS["all"]
    forward = compile_spec(spec, dtype="float64", lowering="forward", layers=[6, 6], **options)
    source = pdec.compiler.driver.emit(forward)
    assert "import pdec" not in source and "from pdec" not in source
    for function in ("activate_interior", "layer_interior", "gate_interior", "constrain_interior", "jet_interior"):
        assert f"def {function}(" in source
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "all.py"), "exec"), namespace)  # noqa: S102 - the generated module
    net = built_net(forward)
    assert namespace["mlp_layers"](net) is not None
    points, _ = points_and_targets(forward)
    points = {k: v for k, v in points.items() if forward.plan.sets[k].steps}  # no derivatives: the network is called
    got = namespace["residuals"](forward_only(net), points, {})
    want = forward.evaluate(restored(net), points)
    for name in want:
        assert torch.equal(got[name], want[name])


def test_leibniz_counts_binomials():
    assert leibniz((2,)) == ((1, (0,)), (2, (1,)), (1, (2,)))
    assert sum(n for n, _ in leibniz((2, 1))) == 2**3  # every way to split three differentiations over two factors


STACKED_SPEC = """
var x in [0, 1]
field u(x)
eq poisson: u_xx = -sin(x)
bc left: u = 0 at x = 0
bc right: u_x = cos(1) at x = 1
bc ends: u_xx = -sin(x) on boundary
"""


def test_point_sets_that_share_a_jet_take_one_stacked_call():
    """The equation, its copy at the ends and the slope condition (one backward pass, but carried by the equation's
    jet) come from one forward-mode call, and each set's rows equal those of its own call."""
    forward, autograd = both(STACKED_SPEC)
    assert forward.plan.forward("bc:right@x=1") and not autograd.plan.forward("bc:right@x=1")
    group = ("interior", "bc:ends@x=0", "bc:ends@x=1", "bc:right@x=1")  # the equation's twins beside it
    assert f"jet_interior: {group!r}" in forward.source
    net = built_net(forward)
    calls, describe = [], net.forward_mode_layers
    net.forward_mode_layers = lambda: calls.append(1) or describe()
    points, targets = points_and_targets(forward)
    together = forward.evaluate(net, points, targets)
    assert len(calls) == 1  # one jet for the four sets (a set evaluated alone reads the layers itself)
    alone = {}
    for name in group:
        for term, residual in forward.evaluate(net, {name: points[name]}, targets).items():
            alone.setdefault(term, []).append(residual)
    for term, parts in alone.items():
        assert torch.allclose(together[term], torch.cat(parts), rtol=1e-14, atol=1e-14), term
    del net.forward_mode_layers
    assert_lowerings_agree(forward, autograd, net)


def test_value_only_sets_at_a_few_points_ride_along_with_the_stacked_jet():
    """u = 0 at x = 0 on one point reads its value from the stacked jet's rows: no network call of its own, the same
    residual; on more points than the jet takes along (JOIN) it calls the network."""
    forward, _ = both(STACKED_SPEC)
    assert "JOIN = {jet_interior: 5}" in forward.source  # 16 // (1 + 2 partials carried: u_x, u_xx)
    net = built_net(forward)
    points, targets = points_and_targets(forward)
    calls, call = [], net.forward
    net.forward = lambda X: calls.append(len(X)) or call(X)
    for rows, network_calls in ((1, []), (5, []), (6, [6])):
        points["bc:left@x=0"] = points["interior"][:rows] * 0.0
        calls.clear()
        together = forward.evaluate(net, points, targets)["bc:left"]
        assert calls == network_calls
        alone = forward.evaluate(net, {"bc:left@x=0": points["bc:left@x=0"]}, targets)["bc:left"]
        assert torch.allclose(together, alone, rtol=1e-14, atol=1e-14)


TWINS_SPEC = """
var x in [0, 1]
time t in [0, 1]
field u(x, t)
eq heat: u_t = u_xx + exp(-t)*sin(x)
bc walls: u = sin(x)*exp(-t) on boundary
ic start: u = sin(x)
bc flux: dn(u) = 0 on boundary
bc bend: u_xx = 0 on boundary
bc heat_walls: u_t = u_xx + exp(-t)*sin(x) on boundary
ic heat_start: u_t = u_xx + exp(-t)*sin(x)
"""


def test_sets_whose_functions_are_twins_are_evaluated_in_one_call_each_run():
    """Point sets whose generated functions differ only in the terms' names (a condition's faces, an equation also
    imposed on the boundary) are evaluated once per run of neighbours: every term's rows equal those of each set's
    own function, in its point sets' order, and with a set missing too. Twins move up beside the first of their kind
    in a stacked call (the bending condition came between). Faces whose residuals differ (the outward normal derivative
    changes sign and variable) are not twins."""
    forward, autograd = both(TWINS_SPEC)
    source = pdec.compiler.driver.emit(forward)
    namespace: dict = {}
    exec(compile(source, "twins.py", "exec"), namespace)  # noqa: S102 - the generated module
    kin = namespace["KIN"]
    assert kin["bc:walls@x=0"][0] == kin["bc:walls@x=1"][0] and kin["bc:walls@x=0"][1] == ("bc:walls",)
    assert kin["interior"][0] == kin["bc:heat_walls@x=0"][0] == kin["ic:heat_start@t=0"][0]
    assert not any(name.startswith("bc:flux") for name in kin)  # -u_x at x = 0, u_x at x = 1
    group = ("interior", "bc:heat_walls@x=0", "bc:heat_walls@x=1", "ic:heat_start@t=0", "bc:bend@x=0", "bc:bend@x=1")
    assert namespace["STACKED"][namespace["jet_interior"]] == group
    net = built_net(forward)
    points, targets = points_and_targets(forward)
    functions, calls = namespace["FUNCTIONS"], []
    for name, function in list(functions.items()):
        functions[name] = lambda *a, f=function, name=name, **k: calls.append(name) or f(*a, **k)
    together = namespace["residuals"](net, points, {}, targets)
    assert "bc:walls@x=1" not in calls and "bc:heat_walls@x=1" not in calls and "ic:heat_start@t=0" not in calls
    assert len(calls) < len(points)
    for subset in (points, {k: v for k, v in points.items() if k not in ("bc:heat_walls@x=0", "bc:walls@x=1")}):
        got = namespace["residuals"](net, subset, {}, targets)
        alone = {}
        for name in forward.point_sets:  # the reference: each set's own function, in the terms' point-set order
            if name in subset:
                for term, residual in functions[name](net, subset[name], {}).items():
                    alone.setdefault(term, []).append(residual)
        assert got.keys() == {t: 0 for t in forward.terms if t in alone}.keys()
        for term, parts in alone.items():
            assert torch.allclose(got[term], torch.cat(parts), rtol=1e-14, atol=1e-14), term
    assert together.keys() == forward.evaluate(net, points, targets).keys()
    assert_lowerings_agree(forward, autograd, net)


def test_a_one_pass_set_joins_a_jet_only_carrying_at_most_twice_its_partials():
    beam = compile_spec(ROOT / "benchmarks/specs/deepxde/euler_beam.pde").plan  # the equation carries 4 partials
    assert not beam.forward("bc:slope@x=0")  # u_x: 1 partial, one backward pass kept
    assert beam.forward("bc:moment@x=1") and beam.forward("bc:shear@x=1")
