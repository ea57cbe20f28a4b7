"""Tabulated coefficients: reading and gridding tables, the interpolant, residuals with coefficients, training.

The golden error messages of the `coef` statement are in tests/test_errors.py (tables in tests/data).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.io
import torch

import pdec
from pdec import fit
from pdec.compiler.driver import compile as compile_spec
from pdec.compiler.interpolation import interpolate, table
from pdec.core.errors import PdecDataError, PdecSemanticError
from pdec.language.display import describe
from pdec.language.frontend import parse_spec, read
from pdec.language.syntax import CoefDecl, unparse
from pdec.nn.networks import build_net

SQUARE = "var x in [0, 1]\nvar y in [0, 2]\nfield u(x, y)\n"


def bilinear(x, y):
    """A function linear in each variable: multilinear interpolation reproduces it everywhere."""
    return 1 + 2 * x + 3 * y + x * y


def write_grid(path, axes, values, names=("x", "y", "a"), shuffle=None):
    """Write a table of ``values`` on the product grid of ``axes`` (rows in a random order with ``shuffle``)."""
    mesh = np.meshgrid(*axes, indexing="ij")
    rows = np.column_stack([m.ravel() for m in mesh] + [values.ravel()])
    if shuffle is not None:
        rows = rows[np.random.default_rng(shuffle).permutation(len(rows))]
    np.savetxt(path, rows, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def spec_file(tmp_path, text, name="spec.pde"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def uneven_axes():
    """Non-uniform grid axes of [0, 1] and [0, 2]."""
    x = np.array([0.0, 0.1, 0.25, 0.3, 0.6, 0.61, 1.0])
    y = np.array([0.0, 0.5, 0.7, 1.5, 2.0])
    return x, y


def bilinear_problem(tmp_path, method="", extra="eq: u = a\nbc: u = 0 on boundary\n", shuffle=None):
    x, y = uneven_axes()
    X, Y = np.meshgrid(x, y, indexing="ij")
    write_grid(tmp_path / "a.csv", (x, y), bilinear(X, Y), shuffle=shuffle)
    coef = f'coef a(x, y) = {method}"a.csv" x = x, y = y, a = a\n'
    return pdec.load(spec_file(tmp_path, SQUARE + coef + extra))


def random_points(n=200, seed=0, lo=(0.0, 0.0), hi=(1.0, 2.0)):
    g = torch.Generator().manual_seed(seed)
    lo, hi = torch.tensor(lo, dtype=torch.float64), torch.tensor(hi, dtype=torch.float64)
    return lo + (hi - lo) * torch.rand(n, len(lo), generator=g, dtype=torch.float64)


# --- reading and gridding --------------------------------------------------------------------------------------------


def test_grid_rows_in_any_order_are_put_on_their_grid(tmp_path):
    problem = bilinear_problem(tmp_path, shuffle=3)
    (coef,) = problem.coefficients
    x, y = uneven_axes()
    assert coef.args == ("x", "y") and coef.method == "linear" and not coef.scattered and coef.rows == 35
    np.testing.assert_array_equal(coef.axes[0], x)
    np.testing.assert_array_equal(coef.axes[1], y)
    X, Y = np.meshgrid(x, y, indexing="ij")
    np.testing.assert_allclose(coef.values, bilinear(X, Y), rtol=1e-15)


def test_gridded_npz_and_mat_arrays(tmp_path):
    x, y = uneven_axes()
    values = bilinear(*np.meshgrid(x, y, indexing="ij"))
    np.savez(tmp_path / "a.npz", xs=x, ys=y, vals=values.T)  # axes in another order than the arguments
    scipy.io.savemat(tmp_path / "a.mat", {"xs": x[:, None], "ys": y[:, None], "vals": values})
    for name in ("a.npz", "a.mat"):
        text = SQUARE + f'coef a(x, y) = "{name}" x = xs, y = ys, a = vals\neq: u = a\nbc: u = 0 on boundary\n'
        (coef,) = pdec.load(spec_file(tmp_path, text)).coefficients
        np.testing.assert_allclose(coef.values, values, rtol=1e-15)


def test_a_coefficient_of_some_variables_and_a_bare_one(tmp_path):
    x = np.linspace(-1.0, 2.0, 7)
    np.savetxt(tmp_path / "k.csv", np.column_stack([x, x**2]), delimiter=",", header="y,k", comments="")
    text = SQUARE + 'coef k(y) = "k.csv" y = y, k = k\neq: u = k*u_x + k_y\nbc: u = 0 on boundary\n'
    problem = pdec.load(spec_file(tmp_path, text))
    assert problem.coefficients[0].args == ("y",)
    bare = parse_spec(read('var x in [0, 1]\ncoef c = "c.csv" x = 0, c = 1\n')).statements[1]
    assert isinstance(bare, CoefDecl) and bare.args is None


def test_scattered_rows_are_resampled_on_a_grid(tmp_path):
    rng = np.random.default_rng(0)
    pts = np.vstack([[[0, 0], [1, 0], [0, 2], [1, 2]], rng.random((300, 2)) * [1, 2]])  # corners: the hull is the box
    values = 1 + 2 * pts[:, 0] - 0.5 * pts[:, 1]  # linear: Delaunay-linear then multilinear reproduce it
    np.savetxt(tmp_path / "s.csv", np.column_stack([pts, values]), delimiter=",", header="x,y,a", comments="")
    text = SQUARE + 'coef a(x, y) = "s.csv" x = x, y = y, a = a\neq: u = a\nbc: u = 0 on boundary\n'
    problem = pdec.load(spec_file(tmp_path, text))
    (coef,) = problem.coefficients
    assert coef.scattered and coef.rows == 304 and coef.values.shape == (35, 35)
    X = random_points()
    a, a_x, a_y = interpolate(table(coef, ("x", "y")), X, [(0, 0), (1, 0), (0, 1)])
    np.testing.assert_allclose(a[:, 0], 1 + 2 * X[:, 0] - 0.5 * X[:, 1], atol=1e-12)
    np.testing.assert_allclose(a_x[:, 0], 2.0, atol=1e-9)
    np.testing.assert_allclose(a_y[:, 0], -0.5, atol=1e-9)
    assert "304 scattered rows on a 35 x 35 grid" in describe(problem)


# --- the interpolant --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "cubic"])
def test_the_interpolant_reproduces_the_table_at_its_nodes(tmp_path, method):
    x, y = uneven_axes()
    values = np.random.default_rng(1).standard_normal((len(x), len(y)))
    write_grid(tmp_path / "a.csv", (x, y), values)
    text = SQUARE + f'coef a(x, y) = {method} "a.csv" x = x, y = y, a = a\neq: u = a\nbc: u = 0 on boundary\n'
    (coef,) = pdec.load(spec_file(tmp_path, text)).coefficients
    nodes = torch.tensor(np.stack([m.ravel() for m in np.meshgrid(x, y, indexing="ij")], axis=1))
    (a,) = interpolate(table(coef, ("x", "y")), nodes, [(0, 0)])
    np.testing.assert_allclose(a[:, 0].numpy(), values.ravel(), rtol=0, atol=1e-14)


def test_linear_reproduces_a_bilinear_function_and_its_derivatives_everywhere(tmp_path):
    (coef,) = bilinear_problem(tmp_path).coefficients
    X = random_points()
    x, y = X[:, 0], X[:, 1]
    a, a_x, a_y, a_xy, a_xx = interpolate(table(coef, ("x", "y")), X, [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0)])
    torch.testing.assert_close(a[:, 0], bilinear(x, y), rtol=0, atol=1e-13)
    torch.testing.assert_close(a_x[:, 0], 2 + y, rtol=0, atol=1e-12)  # the slope of a linear function
    torch.testing.assert_close(a_y[:, 0], 3 + x, rtol=0, atol=1e-12)
    torch.testing.assert_close(a_xy[:, 0], torch.ones_like(x), rtol=0, atol=1e-12)
    assert not a_xx.any()  # zero inside the cells


def test_cubic_reproduces_a_quadratic_and_its_second_derivatives(tmp_path):
    x, y = uneven_axes()
    quadratic = lambda x, y: 1 + x - 2 * y + 3 * x * x - x * y + 0.5 * y * y  # noqa: E731
    write_grid(tmp_path / "q.csv", (x, y), quadratic(*np.meshgrid(x, y, indexing="ij")))
    text = SQUARE + 'coef q(x, y) = cubic "q.csv" x = x, y = y, q = a\neq: u = q_xx\nbc: u = 0 on boundary\n'
    problem = pdec.load(spec_file(tmp_path, text))
    assert not problem.warnings  # a cubic coefficient has second derivatives
    X = random_points()
    xs, ys = X[:, 0], X[:, 1]
    got = interpolate(table(problem.coefficients[0], ("x", "y")), X, [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2)])
    want = [quadratic(xs, ys), 1 + 6 * xs - ys, -2 - xs + ys, 6 + 0 * xs, -1 + 0 * xs, 1 + 0 * xs]
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g[:, 0], w, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ["linear", "cubic"])
def test_closed_form_derivatives_equal_autograd_of_the_interpolant(tmp_path, method):
    x, y = uneven_axes()
    values = np.random.default_rng(2).standard_normal((len(x), len(y)))
    write_grid(tmp_path / "a.csv", (x, y), values)
    text = SQUARE + f'coef a(x, y) = {method} "a.csv" x = x, y = y, a = a\neq: u = a\nbc: u = 0 on boundary\n'
    t = table(pdec.load(spec_file(tmp_path, text)).coefficients[0], ("x", "y"))
    X = random_points(seed=3).requires_grad_(True)
    a, a_x, a_y = interpolate(t, X, [(0, 0), (1, 0), (0, 1)])
    grad = torch.autograd.grad(a.sum(), X)[0]
    torch.testing.assert_close(torch.cat([a_x, a_y], 1), grad, rtol=1e-12, atol=1e-12)


def test_float32_points_get_a_float32_interpolant(tmp_path):
    (coef,) = bilinear_problem(tmp_path).coefficients
    t = table(coef, ("x", "y"))
    X = random_points().float()
    (a,) = interpolate(t, X, [(0, 0)])
    assert a.dtype == torch.float32
    torch.testing.assert_close(a[:, 0], bilinear(X[:, 0], X[:, 1]), rtol=1e-6, atol=1e-6)


# --- residuals --------------------------------------------------------------------------------------------------------

DIVERGENCE = "eq flux: -d(a*u_x, x) - d(a*u_y, y) = 0\nbc: u = 0 on boundary\n"


def hand_residual(net, X):
    """-div(a grad u) of the network with a = bilinear, its derivatives by autograd of the network only."""
    X = X.clone().requires_grad_(True)
    u = net(X)
    du = torch.autograd.grad(u.sum(), X, create_graph=True)[0]
    u_xx = torch.autograd.grad(du[:, 0].sum(), X, create_graph=True)[0][:, 0]
    u_yy = torch.autograd.grad(du[:, 1].sum(), X, create_graph=True)[0][:, 1]
    x, y = X[:, 0], X[:, 1]
    a = bilinear(x, y)
    return (-(a * u_xx + (2 + y) * du[:, 0]) - (a * u_yy + (3 + x) * du[:, 1])).detach()


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
def test_residual_equals_the_hand_computed_one(tmp_path, lowering):
    bilinear_problem(tmp_path, extra=DIVERGENCE)
    compiled = compile_spec(tmp_path / "spec.pde", dtype="float64", lowering=lowering)
    net = build_net(compiled.variables, compiled.bounds, compiled.fields, [12, 12], "tanh", 0).double()
    X = random_points(n=50)
    residual = compiled.evaluate(net, {"interior": X})["pde:flux"]
    torch.testing.assert_close(residual[:, 0].detach(), hand_residual(net, X), rtol=1e-11, atol=1e-11)


def test_manufactured_solution_has_zero_residual(tmp_path):
    text = "eq flux: -d(a*u_x, x) - d(a*u_y, y) = f\nbc: u = 0 on boundary\n"
    let = (
        "let A = 1 + 2*x + 3*y + x*y\nlet U = sin(pi*x)*sin(pi*y/2)\n"
        "let f = -d(A*d(U, x), x) - d(A*d(U, y), y)\n"
    )
    bilinear_problem(tmp_path, extra=let + text)
    compiled = compile_spec(tmp_path / "spec.pde", dtype="float64")

    def exact(X):
        return torch.sin(math.pi * X[:, :1]) * torch.sin(math.pi * X[:, 1:2] / 2)

    residual = compiled.evaluate(exact, {"interior": random_points()})["pde:flux"]
    assert float(residual.detach().abs().max()) < 1e-11


def test_both_lowerings_agree_on_residuals_and_gradients(tmp_path):
    from test_forward import assert_lowerings_agree, random_net

    extra = "eq: -d(a*u_x, x) - lap(a*u) + a_xy*u = a^2\nbc left: a*u + a_x*u_x = a at x = 0\nbc: u = 0 at x = 1\n"
    bilinear_problem(tmp_path, method="cubic ", extra=extra + "periodic: a*u in y\n")
    forward, autograd = (
        compile_spec(tmp_path / "spec.pde", dtype="float64", lowering=lowering) for lowering in ("forward", "autograd")
    )
    assert_lowerings_agree(forward, autograd, random_net(forward))


def test_exact_condition_with_a_coefficient_value(tmp_path):
    bilinear_problem(tmp_path, extra="eq: lap(u) = 0\nbc: u = a on boundary exact\n")
    compiled = compile_spec(tmp_path / "spec.pde", dtype="float64")
    X = random_points()
    values = compiled.constraints.values(X)
    torch.testing.assert_close(values, bilinear(X[:, :1], X[:, 1:]).expand(-1, 4), rtol=0, atol=1e-13)


def test_generated_module_holds_the_table_and_stays_standalone(tmp_path):
    bilinear_problem(tmp_path, extra=DIVERGENCE)
    source = pdec.compile(tmp_path / "spec.pde").source
    assert "_coef_a = Table((0, 1), ([0.0, 0.1," in source
    assert "a, a__x, a__y = interpolate(_coef_a, X, ((0, 0), (1, 0), (0, 1)))" in source
    namespace: dict = {}
    exec(compile(source, "<emitted>", "exec"), namespace)  # noqa: S102 - the module pdec wrote
    assert callable(namespace["residuals"])


# --- the front end ----------------------------------------------------------------------------------------------------


def test_check_shows_the_coefficient(tmp_path):
    text = describe(bilinear_problem(tmp_path, extra=DIVERGENCE))
    line = "a(x, y) = a.csv: 7 x 5 grid (35 rows), x in [0, 1], y in [0, 2]; values in [1, 11]; linear"
    assert f"coefficients:\n  {line}\n" in text
    assert "flux: -a*u_xx - a*u_yy - a_x*u_x - a_y*u_y = 0" in text


def test_second_derivative_of_a_linear_coefficient_warns(tmp_path):
    problem = bilinear_problem(tmp_path, extra="eq: u_xx = a_xx + a_xy\nbc: u = 0 on boundary\n")
    assert [w.message for w in problem.warnings] == ["a_xx is zero inside the cells of the linear interpolant of 'a'"]
    assert "cubic" in problem.warnings[0].hint


def test_a_coefficient_is_not_a_field(tmp_path):
    problem = bilinear_problem(tmp_path, extra="eq: u = a\neq only: a_x = 1\nbc: u = 0 on boundary\n")
    assert [w.message for w in problem.warnings] == ["this equation involves no field"]
    compiled = pdec.compile(problem)
    assert compiled.terms["pde:eq1"].fields == ("u",) and compiled.plan.sets["interior"].roots[0].field == "u"


def test_unparse_round_trips_a_coef_statement():
    text = 'coef a(x, y) = cubic "data/a.csv" x = x, y = "y pos", a = 2'
    (stmt,) = parse_spec(read(text + "\n")).statements
    assert unparse(stmt) == text


@pytest.mark.parametrize(
    "extra, message",
    [
        ("const c = a\neq: u = c\n", "a constant expression cannot use the coefficient 'a'"),
        ("eq: u = a\nexact: u = a\n", "an exact solution cannot use the coefficient 'a'"),
        ("eq: u = a(x)\n", "coefficient 'a' is applied to the wrong arguments"),
        ("eq: u = a\nbc: a = 1 at x = 0 exact\n", "only a condition on a field's value can be exact"),
    ],
)
def test_where_a_coefficient_cannot_stand(tmp_path, extra, message):
    with pytest.raises(PdecSemanticError, match=message):
        bilinear_problem(tmp_path, extra=extra)


@pytest.mark.parametrize(
    "rows, declaration, message",
    [
        ("x,a\n0,1\n0.5,2\n0.5,3\n1,4\n", 'coef a(x) = "t.csv" x = x, a = a', "gives x = 0.5 2 times"),
        ("x,y,a\n0,0,1\n1,2,2\n", 'coef a(x, y) = "t.csv" x = x, y = y, a = a', "too few scattered rows"),
        ("x,y,a\n0,0,1\n0.5,1,2\n1,2,3\n0.25,0.5,4\n", 'coef a(x, y) = "t.csv" x = x, y = y, a = a', "triangulate"),
        ("x,a\n0,1\n1,2\n", 'coef a(x) = "t.csv" x = x', "does not map its values"),
        ("x,a\n0,1\n1,2\n", 'coef a(x, y) = "t.csv" x = x, a = a', "does not map its variable 'y'"),
        ("x,a\n0,1\n1,2\n", 'coef a(x) = "t.csv" x = x, a = a, x = a', "'x' is mapped twice"),
        ("x,a\n0,1\nnan,2\n", 'coef a(x) = "t.csv" x = x, a = a', "non-finite"),
    ],
)
def test_table_errors(tmp_path, rows, declaration, message):
    (tmp_path / "t.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(PdecDataError, match=message):
        pdec.load(spec_file(tmp_path, SQUARE + declaration + "\neq: u = a\nbc: u = 0 on boundary\n"))


def test_a_coefficient_needs_variables_and_a_known_method(tmp_path):
    with pytest.raises(PdecSemanticError, match="coefficient 'a' has no variables"):
        pdec.load(spec_file(tmp_path, SQUARE + 'coef a() = "t.csv" a = a\neq: u = a\n'))
    with pytest.raises(PdecSemanticError, match="variable 'x' is listed twice"):
        pdec.load(spec_file(tmp_path, SQUARE + 'coef a(x, x) = "t.csv" x = x, a = a\neq: u = a\n'))


# --- training ---------------------------------------------------------------------------------------------------------


def test_training_with_a_tabulated_coefficient_learns_the_solution(tmp_path):
    """-(a u')' = f on [0, 1], u(0) = u(1) = 0, a = 1 + x tabulated at 6 nodes, u = sin(pi x)."""
    x = np.linspace(0.0, 1.0, 6)
    np.savetxt(tmp_path / "a.csv", np.column_stack([x, 1 + x]), delimiter=",", header="x,a", comments="")
    text = (
        'var x in [0, 1]\nfield u(x)\ncoef a(x) = "a.csv" x = x, a = a\n'
        "eq: -d(a*u_x, x) = pi^2*(1 + x)*sin(pi*x) - pi*cos(pi*x)\nbc: u = 0 on boundary\nexact: u = sin(pi*x)\n"
    )
    compiled = pdec.compile(spec_file(tmp_path, text))
    settings = {"layers": [16, 16], "interior": 64, "adam": 400, "lbfgs": 0, "lr": 1e-2, "weighting": "fixed"}
    result = fit(compiled, out=tmp_path / "run", quiet=True, plots=False, **settings)
    assert result.metrics["errors"]["u"] < 0.05  # the trivial solution u = 0 has error 1
