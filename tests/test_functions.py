"""Unknown functions (``unknown k(x) = 1``): checks, residuals against hand-derived ones, training, the run's files."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import pdec
from pdec import fit
from pdec.compiler.driver import compile as compile_spec
from pdec.compiler.unknowns import FunctionNet, Unknowns
from pdec.language.display import describe
from pdec.language.problem import UnknownFunction
from pdec.nn.networks import make_net
from pdec.run.functions import grid
from pdec.run.results import load_result
from pdec.train.jacobian import ResidualProblem, residual_vector

FLUX = """
var x in [0, 1]
field u(x)
unknown k(x) = 1 positive true 1 + x^2
let f = -2*pi*x*cos(pi*x) + pi^2*(1 + x^2)*sin(pi*x)
eq flux: -d(k*u_x, x) = f
bc: u = 0 on boundary
"""

# k(x, y) and a k(x) of one of two variables: its partials in y are zero, so only k_x appears
FLUX2 = """
var x in [0, 1]
var y in [0, 2]
field u(x, y)
unknown k(x, y) = 2 in [0.5, 4]
unknown c(x) = 0.5 lr 1e-2
eq flux: -d(k*u_x, x) - d(k*u_y, y) + d(c*u_y, y) + c_x*u = x*y
bc: u = 0 on boundary
"""


def test_an_unknown_function_is_checked_into_its_own_record():
    """The declaration gives an UnknownFunction (not a field), shown by `pdec check` with its truth."""
    problem = pdec.load(FLUX)
    (k,) = problem.functions
    assert isinstance(k, UnknownFunction)
    assert (k.name, k.args, k.init, k.positive, k.lower, k.upper) == ("k", ("x",), 1.0, True, None, None)
    assert str(k.true) == "x**2 + 1"
    assert problem.unknowns == () and [f.name for f in problem.fields] == ["u"]
    assert problem.order == 2  # k's derivatives do not count towards the fields' order
    assert "unknown functions:\n  k(x) = 1 positive true x**2 + 1" in describe(problem)
    (eq,) = problem.equations
    assert "Derivative(k(x), x)" in str(eq.residual)


def _random_function(compiled, name: str, seed: int) -> FunctionNet:
    """The compiled problem's network of ``name`` with random weights (the output layer too: not a constant)."""
    net = compiled.unknowns.functions[name]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return net


def _by_hand(net, k, X, rhs):
    """``-(k u_x)_x - rhs`` by nested autograd on the two networks (the definition, not pdec's expansion)."""
    X = X.clone().requires_grad_(True)
    u, kk = net(X), k(X)
    flux = kk * torch.autograd.grad(u.sum(), X, create_graph=True)[0]
    return -torch.autograd.grad(flux.sum(), X, create_graph=True)[0] - rhs(X)


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
def test_residual_equals_the_hand_derived_one(lowering):
    """For fixed networks, -(k u_x)_x - f and its parameter gradients are the hand-derived ones to round-off."""
    compiled = compile_spec(FLUX, dtype="float64", lowering=lowering)
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    k = _random_function(compiled, "k", 1)
    X = torch.rand(40, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    got = compiled.evaluate(net, {"interior": X})["pde:flux"]
    pi = math.pi

    def f(x):
        return -2 * pi * x * torch.cos(pi * x) + pi**2 * (1 + x**2) * torch.sin(pi * x)

    want = _by_hand(net, k, X, f)
    assert got.shape == (40, 1)
    assert torch.allclose(got, want, rtol=0, atol=1e-10)
    params = [*k.parameters(), *net.parameters()]
    mine = torch.autograd.grad(got.pow(2).sum(), params, allow_unused=True, materialize_grads=True)
    theirs = torch.autograd.grad(want.pow(2).sum(), params, allow_unused=True, materialize_grads=True)
    assert all(torch.allclose(a, b, rtol=0, atol=1e-10) for a, b in zip(mine, theirs, strict=True))
    assert all(float(g.abs().max()) > 0 for g in mine[: len(list(k.parameters()))])  # k's weights all learn


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
def test_functions_of_two_variables_and_of_one_of_them(lowering):
    """k(x, y) and c(x) in a 2-D problem: the residual and the gradient in the points equal the hand-derived ones."""
    compiled = compile_spec(FLUX2, dtype="float64", lowering=lowering)
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    k, c = _random_function(compiled, "k", 3), _random_function(compiled, "c", 4)
    X = torch.rand(30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5)) * torch.tensor([1.0, 2.0])
    X.requires_grad_(True)
    got = compiled.evaluate(net, {"interior": X})["pde:flux"]

    Y = X.detach().clone().requires_grad_(True)
    u, kk, cc = net(Y), k(Y), c(Y[:, :1])
    assert float(kk.detach().min()) > 0.5 and float(kk.detach().max()) < 4  # the bounds hold for any weights

    def grad(z):
        return torch.autograd.grad(z.sum(), Y, create_graph=True)[0]

    du = grad(u)
    d_kux = grad(kk * du[:, :1])[:, :1]
    d_kuy = grad(kk * du[:, 1:])[:, 1:]
    d_cuy = grad(cc * du[:, 1:])[:, 1:]
    want = -d_kux - d_kuy + d_cuy + grad(cc)[:, :1] * u - Y[:, :1] * Y[:, 1:]
    assert torch.allclose(got, want, rtol=0, atol=1e-10)
    gx = torch.autograd.grad(got.sum(), X)[0]
    gy = torch.autograd.grad(want.sum(), Y)[0]
    assert torch.allclose(gx, gy, rtol=0, atol=1e-9)


def test_the_function_starts_as_its_constant_and_keeps_its_bounds():
    """The output layer starts at zero weights: k is the constant init; positive and interval outputs stay inside."""
    compiled = compile_spec(FLUX2, dtype="float64")
    x = torch.as_tensor(grid([(0.0, 1.0), (0.0, 2.0)]), dtype=torch.float64)
    k, c = compiled.unknowns.functions["k"], compiled.unknowns.functions["c"]
    assert torch.allclose(k(x), torch.full((len(x), 1), 2.0, dtype=torch.float64), rtol=0, atol=1e-14)
    assert torch.allclose(c(x[:, :1]), torch.full((len(x), 1), 0.5, dtype=torch.float64), rtol=0, atol=1e-15)
    groups = compiled.unknowns.param_groups(1e-3)
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]  # k's default, c's own
    assert sum(len(g["params"]) for g in groups) == len(list(compiled.unknowns.parameters()))
    assert compiled.unknowns.floats() == {} and set(compiled.unknowns.values()) == {"k", "c"}
    rebuilt = FunctionNet.from_state(_random_function(compiled, "k", 6).state_dict())
    assert torch.equal(rebuilt(x), k(x)) and rebuilt.columns.tolist() == [0, 1]


def test_the_jacobian_of_the_second_phase_includes_the_function():
    """Levenberg-Marquardt's per-point Jacobian (torch.func) has the function's columns, equal to autograd's."""
    compiled = compile_spec(FLUX, dtype="float64")
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    unknowns = compiled.unknowns
    _random_function(compiled, "k", 7)
    problem = ResidualProblem(compiled, net, unknowns, ("pde:flux",), {"pde:flux": ("interior",)})
    X = torch.rand(6, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    r, J = residual_vector(problem, {"interior": X}, {}, {"pde:flux": 1.0}, jacobian=True)
    params = [*net.parameters(), *unknowns.parameters()]
    assert J.shape == (6, sum(p.numel() for p in params))
    rows = residual_vector(problem, {"interior": X}, {}, {"pde:flux": 1.0}, jacobian=False)
    for i in (0, 5):
        row = torch.autograd.grad(rows[i], params, retain_graph=True, allow_unused=True, materialize_grads=True)
        assert torch.allclose(J[i], torch.cat([g.reshape(-1) for g in row]), rtol=0, atol=1e-10)
    width = sum(p.numel() for p in unknowns.parameters())
    assert float(J[:, -width:].abs().max()) > 0


def test_the_emitted_module_runs_without_pdec():
    """`pdec emit` stays standalone: torch only, the function's network passed in theta."""
    compiled = compile_spec(FLUX, dtype="float64")
    namespace: dict = {}
    exec(compile(compiled.source, "<emitted>", "exec"), namespace)  # noqa: S102 - pdec's own generated module
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    X = torch.rand(5, 1, dtype=torch.float64)
    theta = {"k": _random_function(compiled, "k", 9)}
    assert torch.equal(namespace["residuals"](net, {"interior": X}, theta)["pde:flux"],
                       compiled.evaluate(net, {"interior": X}, theta=theta)["pde:flux"])
    true = namespace["TRUTHS"]["k"](torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64))
    assert true.reshape(-1).tolist() == [1.0, 1.25, 2.0]


DATA_SPEC = """
var x in [0, 1]
field u(x)
unknown k(x) = 1 positive true 1 + x^2
eq flux: -d(k*u_x, x) = -2*pi*x*cos(pi*x) + pi^2*(1 + x^2)*sin(pi*x)
data obs: "u.csv" x = x, u = u
train:
  layers = [16, 16]
  function_layers = [10, 10]
  interior = 60
  adam = 1200
  iterations = 200
"""


def _data_spec(folder, text: str = DATA_SPEC):
    x = np.linspace(0, 1, 41)
    np.savetxt(folder / "u.csv", np.column_stack([x, np.sin(np.pi * x)]), delimiter=",", header="x,u", comments="")
    (folder / "k.pde").write_text(text)
    return folder / "k.pde"


def test_conductivity_is_recovered_from_clean_data(tmp_path):
    """-(k u_x)_x = f with u = sin(pi x) observed at 41 points: k = 1 + x^2 within 3% (relative L2 on a grid)."""
    spec = _data_spec(tmp_path)
    result = fit(compile_spec(spec), out=tmp_path / "run", plots=True, quiet=True)
    error = result.metrics["unknown_errors"]["k"]
    assert error < 0.03, error
    x = np.linspace(0, 1, 11)
    assert np.max(np.abs(result.functions["k"](x) - (1 + x**2))) < 0.1
    tensor = result.functions["k"](torch.tensor([[0.5]]))
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (1, 1)
    report = json.loads((tmp_path / "run" / "unknowns.json").read_text())
    summary = report["functions"]["k"]
    assert summary["relative_l2_error"] == pytest.approx(error) and summary["csv"] == "functions/k.csv"
    table = np.loadtxt(tmp_path / "run" / "functions" / "k.csv", delimiter=",", skiprows=1)
    assert table.shape == (201, 3)
    assert np.allclose(table[:, 1], result.functions["k"](table[:, 0])) and np.allclose(table[:, 2], 1 + table[:, 0]**2)
    assert (tmp_path / "run" / "plots" / "function_k.png").stat().st_size > 0
    meshio = pytest.importorskip("meshio")
    written = meshio.read(tmp_path / "run" / "solution.vtu").point_data
    residual = next(v for name, v in written.items() if name.startswith("residual:pde:"))
    # the trained k in the equation: with the untrained k = 1 the residual is pi^2 sin(pi x) - f, of order 1
    assert np.sqrt(np.mean(residual**2)) < 0.05
    loaded = load_result(tmp_path / "run")
    assert np.array_equal(loaded.functions["k"](x), result.functions["k"](x))
    assert loaded.functions["k"].args == ("x",)


def test_resume_is_exact_with_an_unknown_function(tmp_path):
    """Interrupted in Adam, resumed, interrupted in the second phase, resumed: the uninterrupted run, every loss and
    the function's values."""  # noqa: D205, D209
    short = DATA_SPEC.replace("adam = 1200", "adam = 200").replace("iterations = 200", "iterations = 60")
    spec = _data_spec(tmp_path, short)
    straight = fit(compile_spec(spec), out=tmp_path / "straight", plots=False, quiet=True)

    def stop_at(step):
        def interrupt(trainer, row):
            if row["step"] == step:
                raise KeyboardInterrupt

        return interrupt

    first = fit(compile_spec(spec), out=tmp_path / "resumed", plots=False, quiet=True, callback=stop_at(150))
    second = fit(compile_spec(spec), resume=tmp_path / "resumed", plots=False, quiet=True, callback=stop_at(230))
    assert first.interrupted and second.interrupted
    resumed = fit(compile_spec(spec), resume=tmp_path / "resumed", plots=False, quiet=True)
    assert list(resumed.history["loss"]) == list(straight.history["loss"])
    x = np.linspace(0, 1, 17)
    assert np.array_equal(resumed.functions["k"](x), straight.functions["k"](x))


def test_the_run_seed_draws_the_function_network():
    """The trainer draws the function's hidden layers from the run's seed: same seed, same network."""
    compiled = compile_spec(FLUX)
    a, b = (Unknowns((), torch.float32, compiled.problem.functions, compiled.bounds, (8,), s) for s in (0, 1))
    c = Unknowns((), torch.float32, compiled.problem.functions, compiled.bounds, (8,), 0)
    first = [p for p in a.functions["k"].parameters()][0]
    assert torch.equal(first, [p for p in c.functions["k"].parameters()][0])
    assert not torch.equal(first, [p for p in b.functions["k"].parameters()][0])
    assert torch.equal(b.renew(SimpleNamespace(seed=0, function_layers=(8,))).functions["k"].body[0].weight, first)
