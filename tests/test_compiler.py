"""The compiler: manufactured solutions, sympy agreement, the standalone module, unknowns, data, errors."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdec.compiler.derivatives import format_plan
from pdec.compiler.driver import CompiledProblem, Unknowns, compile, emit
from pdec.core.errors import PdecCompileError
from pdec.core.source import Source
from pdec.language.frontend import load
from pdec.language.problem import (
    Condition,
    Constant,
    DataSet,
    Equation,
    Face,
    Field,
    Periodic,
    Piece,
    Problem,
    Unknown,
    Variable,
    field_function,
    symbol,
)

D = sympy.Derivative
x, y, t = symbol("x"), symbol("y"), symbol("t")
pi = sympy.pi


def make(variables, fields, equations=(), conditions=(), **kw) -> Problem:
    """A Problem from (name, lo, hi[, is_time]) tuples and field names (functions of every variable)."""
    vs = tuple(Variable(*v) for v in variables)
    fs = tuple(Field(f, tuple(v.name for v in vs)) for f in fields)
    return Problem(source=Source(""), variables=vs, fields=fs, equations=equations, conditions=conditions, **kw)


def torch_solution(exprs, variables):
    """The closed-form solution as a torch function [N, d] -> [N, m] (sympy's own torch printer)."""
    syms = [symbol(v[0]) for v in variables]
    fns = [sympy.lambdify(syms, sympy.sympify(e).subs(pi, sympy.pi.evalf(30)), modules="torch") for e in exprs]

    def net(X):
        cols = [X[:, i : i + 1] for i in range(X.shape[1])]
        return torch.cat([fn(*cols) + 0 * cols[0] for fn in fns], 1)

    return net


def random_points(compiled: CompiledProblem, n=64, seed=0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([b[0] for b in compiled.bounds.values()], dtype=torch.float64)
    hi = torch.tensor([b[1] for b in compiled.bounds.values()], dtype=torch.float64)
    pts = {}
    for name, ps in compiled.point_sets.items():
        if ps.data is not None:
            continue
        X = lo + (hi - lo) * torch.rand(n, len(lo), generator=g, dtype=torch.float64)
        for var, value in ps.region.items():
            X[:, compiled.variables.index(var)] = value
        pts[name] = X
    return pts


def assert_manufactured(problem: Problem, solution: dict, scale_exprs=()):
    """Residuals of the exact solution vanish to 1e-9 of the terms' scale in float64."""
    c = compile(problem, dtype="float64")
    net = torch_solution([solution[f] for f in c.fields], [(v,) for v in c.variables])
    pts = random_points(c)
    res = c.evaluate(net, pts)
    assert set(res) == set(c.terms)
    X = pts["interior"]
    scale = 1.0
    for e in scale_exprs:  # the size of the largest term of the equations
        fn = sympy.lambdify([symbol(v) for v in c.variables], e, "numpy")
        scale = max(scale, float(np.max(np.abs(fn(*X.T.numpy()) + 0 * X[:, 0].numpy()))))
    for name, r in res.items():
        assert r.dtype == torch.float64
        err = float(r.detach().abs().max())
        assert err < 1e-9 * scale, (name, err, scale)


def manufactured_equation(name, operator, solution, field):
    """``operator(u) = f`` with ``f`` the operator applied to the closed form by sympy."""
    f = operator(solution).doit()
    return Equation(name, operator(field), f), f


def test_poisson_1d():
    u = field_function("u")(x)
    ue = sympy.sin(3 * pi * x) * sympy.exp(x) + x**3

    def op(w):
        return -D(w, (x, 2))

    eq, f = manufactured_equation("poisson", op, ue, u)
    bc = Condition("ends", "bc", (Piece(Face("x", 0.0, "lo"), u - ue.subs(x, 0)),), u, u)
    assert_manufactured(make([("x", 0.0, 1.0)], "u", (eq,), (bc,)), {"u": ue}, [f])


def test_poisson_2d():
    u = field_function("u")(x, y)
    ue = sympy.sin(pi * x) * sympy.sin(2 * pi * y) + x * y**2

    def op(w):
        return D(w, (x, 2)) + D(w, (y, 2))

    eq, f = manufactured_equation("poisson", op, ue, u)
    walls = tuple(
        Piece(Face(v, val, s), u - ue.subs(symbol(v), val)) for v in "xy" for val, s in ((0.0, "lo"), (1.0, "hi"))
    )
    problem = make([("x", 0.0, 1.0), ("y", 0.0, 1.0)], "u", (eq,), (Condition("walls", "bc", walls, u, u),))
    assert_manufactured(problem, {"u": ue}, [f])


def test_heat_with_neumann_and_constant():
    u = field_function("u")(x, t)
    k = symbol("k")
    ue = sympy.exp(-t) * sympy.cos(pi * x) + t * x**2
    f = (D(ue, t) - 0.4 * D(ue, (x, 2))).doit()
    eq = Equation("heat", D(u, t), k * D(u, (x, 2)) + f)
    ic = Condition("initial", "ic", (Piece(Face("t", 0.0, "lo"), u - ue.subs(t, 0)),), u, u)
    flux = Condition("flux", "bc", (Piece(Face("x", 1.0, "hi"), D(u, x) - D(ue, x).doit().subs(x, 1)),), u, u)
    problem = make([("x", 0.0, 1.0), ("t", 0.0, 1.0, True)], "u", (eq,), (ic, flux), constants=(Constant("k", 0.4, k),))
    assert_manufactured(problem, {"u": ue}, [f, D(ue, t).doit()])


def test_wave():
    u = field_function("u")(x, t)
    c = 2.0
    ue = sympy.sin(pi * x) * sympy.cos(c * pi * t)
    eq = Equation("wave", D(u, (t, 2)), c**2 * D(u, (x, 2)))
    v0 = Condition("v0", "ic", (Piece(Face("t", 0.0, "lo"), D(u, t)),), u, u)
    problem = make([("x", 0.0, 1.0), ("t", 0.0, 1.0, True)], "u", (eq,), (v0,))
    assert_manufactured(problem, {"u": ue}, [c**2 * pi**2 * ue])


def test_burgers_manufactured_forcing_and_periodic():
    u = field_function("u")(x, t)
    nu = 0.01 / math.pi
    ue = sympy.exp(-t) * sympy.sin(pi * x) + sympy.Rational(1, 2) * sympy.cos(pi * x) * t
    f = (D(ue, t) + ue * D(ue, x) - nu * D(ue, (x, 2))).doit()
    eq = Equation("burgers", D(u, t) + u * D(u, x), symbol("nu") * D(u, (x, 2)) + f)
    per = Periodic("ends", "x", (u, D(u, x), D(u, (x, 2)) * u))
    problem = make(
        [("x", -1.0, 1.0), ("t", 0.0, 1.0, True)],
        "u",
        (eq,),
        (per,),
        constants=(Constant("nu", nu, sympy.Rational(1, 100) / pi),),
    )
    assert_manufactured(problem, {"u": ue}, [f, (ue * D(ue, x)).doit()])


def test_kovasznay_re20_with_pressure():
    u, v, p = (field_function(n)(x, y) for n in "uvp")
    re = 20
    lam = sympy.Rational(re, 2) - sympy.sqrt(sympy.Rational(re**2, 4) + 4 * pi**2)
    ue = 1 - sympy.exp(lam * x) * sympy.cos(2 * pi * y)
    ve = lam / (2 * pi) * sympy.exp(lam * x) * sympy.sin(2 * pi * y)
    pe = (1 - sympy.exp(2 * lam * x)) / 2
    Re = symbol("Re")
    eqs = (
        Equation("mx", u * D(u, x) + v * D(u, y) + D(p, x), (D(u, (x, 2)) + D(u, (y, 2))) / Re),
        Equation("my", u * D(v, x) + v * D(v, y) + D(p, y), (D(v, (x, 2)) + D(v, (y, 2))) / Re),
        Equation("continuity", D(u, x) + D(v, y), sympy.S.Zero),
    )
    walls = tuple(
        Piece(Face(n, val, s), u - ue.subs(symbol(n), val))
        for n, val, s in (("x", -0.5, "lo"), ("x", 1.0, "hi"), ("y", -0.5, "lo"), ("y", 1.5, "hi"))
    )
    outlet = Condition("outlet", "bc", (Piece(Face("x", 1.0, "hi"), p - pe.subs(x, 1)),), p, p)
    problem = make(
        [("x", -0.5, 1.0), ("y", -0.5, 1.5)],
        "uvp",
        eqs,
        (Condition("walls", "bc", walls, u, u), outlet),
        constants=(Constant("Re", 20.0, sympy.Integer(20)),),
        exact={"u": ue, "v": ve, "p": pe},
    )
    assert_manufactured(problem, {"u": ue, "v": ve, "p": pe}, [(ue * D(ue, x)).doit(), D(pe, x).doit()])
    c = compile(problem, dtype="float64")
    X = random_points(c)["interior"]
    truth = torch_solution([ue, ve, pe], [("x",), ("y",)])(X)
    assert torch.allclose(c.exact(X), truth, rtol=1e-13, atol=1e-13)


def test_kuramoto_sivashinsky_fourth_order():
    u = field_function("u")(x, t)
    ue = sympy.exp(-t / 2) * sympy.sin(x) * (1 + sympy.cos(2 * x) / 3)

    def op(w):
        return D(w, t) + w * D(w, x) + D(w, (x, 2)) + D(w, (x, 4))

    eq, f = manufactured_equation("ks", op, ue, u)
    per = Periodic("ends", "x", (u, D(u, x), D(u, (x, 2)), D(u, (x, 3))))
    problem = make([("x", 0.0, 2 * math.pi), ("t", 0.0, 1.0, True)], "u", (eq,), (per,))
    assert_manufactured(problem, {"u": ue}, [f, D(ue, (x, 4)).doit()])


# ---------------------------------------------------------------------------------------------------------------------
# Random expressions against sympy's own differentiation
# ---------------------------------------------------------------------------------------------------------------------

FIELD_FORMS = [
    lambda a, b: sympy.sin(a * x + b * y),
    lambda a, b: sympy.exp(a * x) * sympy.cos(b * y),
    lambda a, b: a * x**3 + b * x * y**2 + 1,
    lambda a, b: sympy.tanh(a * x - b * y) + 2,
]
INDICES = [(0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (2, 1), (3, 0), (1, 2)]


@st.composite
def expressions(draw, depth=2):
    """A random expression over fields u, v of (x, y) and their derivatives up to order 3."""
    if depth == 0 or draw(st.booleans()):
        kind = draw(st.sampled_from(["field", "field", "var", "const"]))
        if kind == "field":
            f = field_function(draw(st.sampled_from("uv")))(x, y)
            i, j = draw(st.sampled_from(INDICES))
            return D(f, *([(x, i)] if i else []), *([(y, j)] if j else [])) if i + j else f
        if kind == "var":
            return draw(st.sampled_from([x, y]))
        return sympy.Rational(draw(st.integers(-5, 5)), draw(st.integers(1, 4)))
    op = draw(st.sampled_from(["add", "mul", "sin", "exp", "pow", "div", "tanh"]))
    a = draw(expressions(depth=depth - 1))
    if op in ("add", "mul", "div"):
        b = draw(expressions(depth=depth - 1))
        return {"add": a + b, "mul": a * b, "div": a / (2 + b**2)}[op]
    if op == "pow":
        return a ** draw(st.integers(2, 3))
    return {"sin": sympy.sin, "exp": lambda e: sympy.exp(sympy.tanh(e)), "tanh": sympy.tanh}[op](a)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    exprs=st.lists(expressions(), min_size=1, max_size=3),
    forms=st.tuples(st.sampled_from(range(4)), st.sampled_from(range(4))),
    coeffs=st.tuples(*[st.floats(0.3, 1.5)] * 4),
)
def test_random_expressions_match_sympy(exprs, forms, coeffs):
    u, v = field_function("u")(x, y), field_function("v")(x, y)
    ue = FIELD_FORMS[forms[0]](*coeffs[:2])
    ve = FIELD_FORMS[forms[1]](*coeffs[2:])
    eqs = tuple(Equation(f"e{i}", e, sympy.S.Zero) for i, e in enumerate(exprs))
    c = compile(make([("x", -1.0, 1.0), ("y", -1.0, 1.0)], "uv", eqs), dtype="float64")
    pts = random_points(c, n=16)
    got = c.evaluate(torch_solution([ue, ve], [("x",), ("y",)]), pts)
    X = pts["interior"].numpy()
    for i, e in enumerate(exprs):
        truth_expr = e.subs({u: ue, v: ve}).doit()
        fn = sympy.lambdify([x, y], truth_expr, "numpy")
        truth = fn(X[:, 0], X[:, 1]) + 0 * X[:, 0]
        np.testing.assert_allclose(got[f"pde:e{i}"][:, 0].detach().numpy(), truth, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------------------
# Data, periodic, pieces, unknowns, settings
# ---------------------------------------------------------------------------------------------------------------------


def small_net(d=2, m=3, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, 8), torch.nn.Tanh(), torch.nn.Linear(8, m)).to(dtype)


def test_data_residual_is_output_minus_targets_in_dataset_column_order():
    rng = np.random.default_rng(0)
    pts, vals = rng.random((10, 2)), rng.random((10, 2))
    data = DataSet("obs", "obs.csv", ("x", "y"), ("p", "u"), pts, vals)
    c = compile(make([("x", 0.0, 1.0), ("y", 0.0, 1.0)], "uvp", data=(data,)), dtype="float64")
    ps = c.point_sets["data:obs"]
    assert ps.data is not None and ps.data.points.shape == (10, 2)
    net = small_net()
    res = c.evaluate(net, {"data:obs": ps.data.points})
    out = net(ps.data.points)
    torch.testing.assert_close(res["data:obs"], out[:, [2, 0]] - torch.as_tensor(vals))
    other = torch.zeros(10, 2, dtype=torch.float64)
    res = c.evaluate(net, {"data:obs": ps.data.points}, targets={"data:obs": other})
    torch.testing.assert_close(res["data:obs"], out[:, [2, 0]])


def test_periodic_residual_is_difference_of_ends():
    u = field_function("u")(x, t)
    per = Periodic("ends", "x", (u, D(u, x)))
    c = compile(make([("x", -1.0, 2.0), ("t", 0.0, 1.0, True)], "u", (), (per,)), dtype="float64")
    (name,) = c.point_sets
    assert name == "bc:ends@x=-1" and dict(c.point_sets[name].region) == {"x": -1.0}
    net = small_net(m=1)
    lo = torch.tensor([[-1.0, 0.3], [-1.0, 0.7]], dtype=torch.float64)
    hi = lo.clone()
    hi[:, 0] = 2.0
    r = c.evaluate(net, {name: lo})["bc:ends"]
    assert r.shape == (2, 2)

    def value_and_slope(X):
        X = X.clone().requires_grad_(True)
        out = net(X)
        return torch.cat([out, torch.autograd.grad(out.sum(), X)[0][:, :1]], 1)

    torch.testing.assert_close(r, value_and_slope(lo) - value_and_slope(hi))


def test_pieces_stack_and_missing_point_sets_are_skipped():
    u = field_function("u")(x, y)
    pieces = tuple(Piece(Face("x", val, s), u - val) for val, s in ((0.0, "lo"), (1.0, "hi")))
    eq = Equation("lap", D(u, (x, 2)) + D(u, (y, 2)), sympy.S.Zero)
    c = compile(make([("x", 0.0, 1.0), ("y", 0.0, 1.0)], "u", (eq,), (Condition("w", "bc", pieces, u, u),)))
    assert list(c.point_sets) == ["interior", "bc:w@x=0", "bc:w@x=1"]
    assert c.terms["bc:w"].point_sets == ("bc:w@x=0", "bc:w@x=1")
    net = small_net(m=1, dtype=torch.float32)
    a, b = torch.rand(3, 2), torch.rand(5, 2)
    res = c.evaluate(net, {"bc:w@x=0": a, "bc:w@x=1": b})
    assert list(res) == ["bc:w"] and res["bc:w"].shape == (8, 1)
    torch.testing.assert_close(res["bc:w"], torch.cat([net(a), net(b) - 1.0]))
    with pytest.raises(KeyError, match="unknown point sets"):
        c.evaluate(net, {"nowhere": a})


def test_unknowns_in_equations_theta_tensor_or_float():
    u = field_function("u")(x)
    k = symbol("k")
    eq = Equation("e", D(u, (x, 2)) + k * u, sympy.S.Zero)
    c = compile(make([("x", 0.0, 1.0)], "u", (eq,), unknowns=(Unknown("k", 2.0, positive=True),)), dtype="float64")
    assert c.unknowns.floats() == pytest.approx({"k": 2.0}, rel=1e-14)
    net = torch_solution([sympy.sin(sympy.Float(math.sqrt(3)) * x)], [("x",)])
    X = torch.rand(7, 1, dtype=torch.float64)
    assert float(c.evaluate(net, {"interior": X}, theta={"k": 3.0})["pde:e"].detach().abs().max()) < 1e-12
    r = c.evaluate(net, {"interior": X})["pde:e"]
    r.pow(2).mean().backward()
    assert c.unknowns.raw["k"].grad is not None and float(c.unknowns.raw["k"].grad) != 0.0


@pytest.mark.parametrize(
    "spec",
    [
        Unknown("a", 0.7),
        Unknown("a", 1e-3, positive=True),
        Unknown("a", 35.0, positive=True),
        Unknown("a", 3.0, lower=2.5),
        Unknown("a", -4.0, upper=-1.0),
        Unknown("a", 0.25, lower=0.0, upper=10.0),
        Unknown("a", 9.999, lower=0.0, upper=10.0, lr=1e-2),
        Unknown("a", 0.5, upper=1.0, positive=True),
    ],
)
def test_unknown_reparameterisation_round_trips_init(spec):
    m = Unknowns((spec,), torch.float64)
    assert m.floats()["a"] == pytest.approx(spec.init, rel=1e-13, abs=1e-15)
    assert m.values()["a"].dtype == torch.float64
    assert m.lr == {"a": spec.lr}
    assert m.param_groups(1e-3)[0]["lr"] == (spec.lr or 1e-3)
    with torch.no_grad():  # the constraint holds everywhere
        for raw in (-50.0, 50.0):
            m.raw["a"].fill_(raw)
            value = m.floats()["a"]
            lo, hi = m.bounds["a"]
            assert (lo is None or value >= lo) and (hi is None or value <= hi)


def test_unknown_outside_bounds_is_an_error():
    with pytest.raises(PdecCompileError, match="strictly inside"):
        Unknowns((Unknown("a", 0.0, positive=True),))


def test_overrides_and_dtype():
    u = field_function("u")(x)
    eq = Equation("e", D(u, x), sympy.S.Zero)
    problem = make([("x", 0.0, 1.0)], "u", (eq,), unknowns=(Unknown("k", 1.0),))
    c = compile(problem, dtype="float64", lr=0.01)
    assert c.problem.settings.dtype == "float64" and c.problem.settings.lr == 0.01
    assert c.unknowns.raw["k"].dtype == torch.float64
    assert compile(problem).unknowns.raw["k"].dtype == torch.float32
    assert c.variables == ("x",) and c.fields == ("u",) and c.bounds == {"x": (0.0, 1.0)}
    assert c.exact(torch.zeros(2, 1)) is None


def test_unsupported_node_names_it_with_the_term_span():
    source = Source("eq odd: u_x = gamma(x)\n")
    span = source.span(0, 22)
    u = field_function("u")(x)
    eq = Equation("odd", D(u, x), sympy.gamma(x), span)
    with pytest.raises(PdecCompileError, match="gamma") as info:
        compile(
            Problem(source=source, variables=(Variable("x", 0.0, 1.0),), fields=(Field("u", ("x",)),), equations=(eq,))
        )
    assert info.value.span == span
    assert "^^^" in str(info.value)


def test_unknown_function_is_an_error():
    u = field_function("u")(x)
    eq = Equation("e", D(u, x) + field_function("w")(x), sympy.S.Zero)
    with pytest.raises(PdecCompileError, match="'w'"):
        compile(make([("x", 0.0, 1.0)], "u", (eq,)))


def test_runs_under_no_grad_and_on_a_plain_function():
    u = field_function("u")(x)
    c = compile(make([("x", 0.0, 1.0)], "u", (Equation("e", D(u, (x, 2)), sympy.S.Zero),)), dtype="float64")
    X = torch.rand(5, 1, dtype=torch.float64)
    with torch.no_grad():
        r = c.evaluate(lambda X: X**3, {"interior": X})["pde:e"]
    torch.testing.assert_close(r, 6 * X)
    r = c.evaluate(lambda X: 2 * X + 1, {"interior": X})["pde:e"]  # linear: second derivative exactly zero
    assert float(r.abs().max()) == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda():
    u = field_function("u")(x, t)
    eq = Equation("e", D(u, t) + u * D(u, x), sympy.S.Zero)
    c = compile(make([("x", 0.0, 1.0), ("t", 0.0, 1.0, True)], "u", (eq,), unknowns=(Unknown("k", 1.0),)))
    c.unknowns.to("cuda")
    net = small_net(m=1, dtype=torch.float32).cuda()
    r = c.evaluate(net, {"interior": torch.rand(9, 2, device="cuda")})["pde:e"]
    assert r.device.type == "cuda"


# ---------------------------------------------------------------------------------------------------------------------
# The generated module
# ---------------------------------------------------------------------------------------------------------------------


def burgers_like() -> Problem:
    u = field_function("u")(x, t)
    nu, k = symbol("nu"), symbol("k")
    eq = Equation("burgers", D(u, t) + k * u * D(u, x), nu * D(u, (x, 2)) + sympy.sin(pi * x))
    ic = Condition("initial", "ic", (Piece(Face("t", 0.0, "lo"), u + sympy.sin(pi * x)),), u, u)
    ends = Condition("ends", "bc", (Piece(Face("x", -1.0, "lo"), u), Piece(Face("x", 1.0, "hi"), D(u, x))), u, u)
    per = Periodic("per", "x", (u, D(u, (x, 2))))
    return make(
        [("x", -1.0, 1.0), ("t", 0.0, 1.0, True)],
        "u",
        (eq,),
        (ic, ends, per),
        constants=(Constant("nu", 0.01 / math.pi, sympy.Rational(1, 100) / pi),),
        unknowns=(Unknown("k", 0.5, lower=0.0, upper=2.0),),
        exact={"u": sympy.exp(-t) * sympy.sin(pi * x)},
    )


def test_source_is_readable_and_registered_for_tracebacks():
    c = compile(burgers_like())
    src = c.source
    assert "import pdec" not in src and "from pdec" not in src
    assert "0.003183098861837907" in src  # nu folded to its value
    assert "u__x__x = _g_u__x[:, 0:1]" in src
    assert src.count("torch.autograd.grad") == 1  # inside the one helper

    def boom(X):
        raise ValueError("inside net")

    with pytest.raises(ValueError) as info:
        c.evaluate(boom, {"interior": torch.rand(3, 2)})
    import traceback

    text = "".join(traceback.format_tb(info.value.__traceback__))
    assert "_out = net(X)" in text  # the generated line shows in the traceback


def test_emit_standalone_module_reproduces_residuals(tmp_path):
    c = compile(burgers_like(), dtype="float64")
    path = tmp_path / "burgers_residuals.py"
    path.write_text(emit(c))
    torch.manual_seed(1)
    net = small_net(m=1)
    pts = random_points(c, n=9)
    theta = c.unknowns.floats()
    expected = {k: v.detach() for k, v in c.evaluate(net, pts).items()}
    torch.save({"net": net, "pts": pts, "theta": theta, "expected": expected}, tmp_path / "case.pt")
    script = textwrap.dedent(
        f"""
        import importlib.util, sys, torch
        spec = importlib.util.spec_from_file_location("gen", {str(path)!r})
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        case = torch.load({str(tmp_path / "case.pt")!r}, weights_only=False)
        got = gen.residuals(case["net"], case["pts"], case["theta"])
        assert list(got) == list(case["expected"]), (list(got), list(case["expected"]))
        for k, v in got.items():
            assert torch.allclose(v, case["expected"][k], rtol=1e-14, atol=1e-14), k
        assert gen.exact(case["pts"]["interior"]).shape == (9, 1)
        assert not [m for m in sys.modules if m == "pdec" or m.startswith("pdec.")]
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_emitted_module_imports_via_importlib(tmp_path):
    c = compile(burgers_like())
    path = tmp_path / "gen.py"
    path.write_text(emit(c))
    spec = importlib.util.spec_from_file_location("gen_in_process", path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert set(gen.FUNCTIONS) == set(c.point_sets)
    assert gen.TERMS == {name: term.point_sets for name, term in c.terms.items()}


def test_format_plan_and_repr():
    c = compile(burgers_like())
    text = format_plan(c)
    assert "u__x__x" in text and "from u__x" in text and "total:" in text
    assert "passes=" in repr(c)


def test_compile_from_text_uses_the_front_end():
    c = compile("var x in [0, 1]\nfield u(x)\neq: u_xx = -1\nbc: u = 0 on boundary\n")
    assert c.fields == ("u",) and "interior" in c.point_sets


@pytest.mark.slow
def test_torch_compile_path_matches_eager():
    c = compile(burgers_like(), compile=True)
    eager = compile(burgers_like())
    net = small_net(m=1, dtype=torch.float32)
    pts = {k: v.float() for k, v in random_points(eager, n=32).items()}
    got, want = c.evaluate(net, pts), eager.evaluate(net, pts)
    assert list(got) == list(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6)
    sum(r.pow(2).mean() for r in got.values()).backward()
    assert all(p.grad is not None for p in net.parameters())


EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.pde"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_compiles_and_evaluates(path):
    c = compile(load(str(path)))
    net = small_net(d=len(c.variables), m=len(c.fields), dtype=torch.float32)
    pts = {}
    for name, ps in c.point_sets.items():
        if ps.data is not None:
            pts[name] = ps.data.points[:8]
            continue
        lo = torch.tensor([b[0] for b in c.bounds.values()])
        hi = torch.tensor([b[1] for b in c.bounds.values()])
        X = lo + (hi - lo) * torch.rand(8, len(lo))
        for var, value in ps.region.items():
            X[:, c.variables.index(var)] = value
        pts[name] = X
    targets = {n: ps.data.targets[:8] for n, ps in c.point_sets.items() if ps.data is not None}
    res = c.evaluate(net, pts, targets)
    assert set(res) == set(c.terms)
    for name, r in res.items():
        assert r.shape[1] == c.terms[name].columns and torch.isfinite(r).all(), name
    assert str(c.plan)


# ---------------------------------------------------------------------------------------------------------------------
# Generated source: user names and file names never change what it computes
# ---------------------------------------------------------------------------------------------------------------------

# Every name pattern the generator uses or once used for its temporaries, parameters and module globals: gradients
# (d_u, g_u), common sub-expressions (c0, c1), periodic halves (r_0, n), the network output and its helpers, function
# names of point sets, and the module's tables.
GENERATOR_NAMES = (
    "d_u", "g_u", "c0", "c1", "r_0", "n", "ones", "out", "X", "net", "grad", "torch", "theta", "targets",
    "points", "residuals", "interior", "bc_periodic1_x_0", "shared_outputs", "SPEC", "FUNCTIONS", "DATA", "SHARED",
    "KIN", "FOLLOWS", "runs", "sized", "stacked_jets", "STACKED", "JOIN", "apportioned", "assembled",
)  # fmt: skip


def test_field_names_never_collide_with_generated_names():
    from pdec.language.frontend import load

    names = ", ".join(GENERATOR_NAMES)
    eqs = "".join(f"eq e{i}: {n}_x = sin(u*{n}) + sin(u*{n})^2 + {n}\n" for i, n in enumerate(GENERATOR_NAMES))
    problem = load(f"var x in [0, 1]\nfield u(x), {names}\neq a: u_x = d_u\n{eqs}periodic: u, d_u, c0 in x\n")
    c = compile(problem, dtype="float64")
    k = torch.arange(1, len(c.fields) + 1, dtype=torch.float64)

    def net(X):
        return torch.sin(k * X + k / 7)  # column j: sin((j+1) x + (j+1)/7)

    X = torch.linspace(0.05, 0.95, 9, dtype=torch.float64)[:, None]
    res = c.evaluate(net, {"interior": X, "bc:periodic1@x=0": torch.zeros(1, 1, dtype=torch.float64)})
    value, slope = net(X), k * torch.cos(k * X + k / 7)
    col = {name: j for j, name in enumerate(c.fields)}
    torch.testing.assert_close(res["pde:a"], slope[:, :1] - value[:, col["d_u"] : col["d_u"] + 1])
    for i, name in enumerate(GENERATOR_NAMES):
        j, u = col[name], value[:, :1]
        s = torch.sin(u * value[:, j : j + 1])
        expected = slope[:, j : j + 1] - (s + s**2 + value[:, j : j + 1])
        torch.testing.assert_close(res[f"pde:e{i}"], expected, msg=name)
    ends = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    at = net(ends)[:, [0, col["d_u"], col["c0"]]]
    torch.testing.assert_close(res["bc:periodic1"], at[:1] - at[1:])


@pytest.mark.parametrize("terms", ["", "bc: u = 0 at x = -1\n", "bc: u = 1 at x = 2\nbc: u = 0 at x = -1\n"])
@pytest.mark.parametrize("periodic", ["u", "u, 7"])
def test_periodic_without_derivatives_next_to_other_plain_point_sets(terms, periodic):
    c = compile(f"var x in [-1, 2]\nfield u(x)\neq: u_xx = 1\n{terms}periodic ends: {periodic} in x\n", dtype="float64")

    def net(X):
        return X**2 + 3 * X

    points = {name: torch.full((16, 1), -1.0 if "@x=-1" in name else 2.0, dtype=torch.float64) for name in c.point_sets}
    points["interior"] = torch.rand(16, 1, dtype=torch.float64)
    res = c.evaluate(net, points)
    expected = net(torch.tensor(-1.0)) - net(torch.tensor(2.0))  # u(lo) - u(hi); 7 - 7 = 0
    columns = [expected, torch.tensor(0.0)][: periodic.count(",") + 1]
    torch.testing.assert_close(res["bc:ends"], torch.stack(columns).expand(16, -1).to(torch.float64))


def test_file_name_cannot_inject_code(tmp_path, monkeypatch):
    name = 'x""" if __import__("os").system("touch PWNED") else """y.pde'
    spec = tmp_path / name
    spec.write_text("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n")
    monkeypatch.chdir(tmp_path)
    c = compile(spec)
    assert not (tmp_path / "PWNED").exists()
    assert str(tmp_path) not in c.source  # the file name only, never the folder
    assert f"SPEC = {name!r}" in c.source
    namespace: dict = {}
    exec(c.source, namespace)  # the module itself is plain Python whatever the file name
    assert namespace["SPEC"] == name and not (tmp_path / "PWNED").exists()


def test_huge_integer_literal_prints_as_a_float():
    c = compile("var x in [0, 1]\nfield u(x)\neq: u_xx = 1e19*u\nbc: u = 0 on boundary\n", dtype="float64")
    X = torch.rand(4, 1, dtype=torch.float64)
    res = c.evaluate(lambda X: X**2, {"interior": X})["pde:eq1"]
    torch.testing.assert_close(res, 2 - 1e19 * X**2)


@pytest.mark.parametrize(
    ("spec", "fragment", "line"),
    [
        ("const c = 1e200\nvar x in [0, 1]\nfield u(x)\neq: u_xx = c^2*u\n", "does not fit in a double", 4),
        ("var x in [0, 1e39]\nfield u(x)\neq: u_xx = 1\nperiodic: u, u_x in x\n", "does not fit in float32", 1),
        ("var x in [0, 1e-320]\nfield u(x)\neq: u_xx = 1\n", "its ends round together", 1),
        ("var x in [1, 1 + 1e-9]\nfield u(x)\neq: u_xx = 1\n", "its ends round together", 1),
        ("var x in [0, 1]\nfield u(x)\nunknown k = 1e39\neq: u_xx = k\n", "unknown 'k' do not fit", 3),
    ],
)
def test_numbers_beyond_the_float_range_are_located_errors(spec, fragment, line):
    with pytest.raises(PdecCompileError, match=fragment) as info:
        compile(spec)
    assert info.value.span is not None and info.value.span.line == line


def test_derivative_plan_work_is_bounded():
    terms = " + ".join(f"d(u, x, {a}, y, {b}, z, {8 - a - b})" for a in range(1, 7) for b in range(1, 8 - a))
    spec = f"var x in [0, 1]\nvar y in [0, 1]\nvar z in [0, 1]\nfield u\neq: {terms} = 1\n"
    with pytest.raises(PdecCompileError, match="need too much work") as info:
        compile(spec)
    assert info.value.span.line == 5


def test_terms_are_typed_records():
    from pdec.language.problem import Kind

    spec = (
        "var x in [0, 2]\nfield u(x)\nfield v(x)\nunknown k = 1\n"
        "eq a: u_xx = k*v\neq b: v = sin(x)\nbc left: u = 0 at x = 0\nbc both: u_x = 0 on boundary\n"
        "periodic p: v in x\n"
    )
    compiled = compile(spec)
    terms = compiled.terms
    assert list(terms) == ["pde:a", "pde:b", "bc:left", "bc:both", "bc:p"]
    assert [t.kind for t in terms.values()] == [Kind.PDE, Kind.PDE, Kind.BC, Kind.BC, Kind.PERIODIC]
    assert terms["bc:p"].kind == "periodic" and terms["bc:p"].bare == "p"  # a str enum; the name says bc
    assert terms["pde:a"].fields == ("u", "v") and terms["pde:a"].unknowns == ("k",)
    assert terms["pde:b"].fields == ("v",) and terms["pde:b"].unknowns == ()
    assert all(t.isolated for t in terms.values() if t.kind is not Kind.PDE)  # 1-D: every condition is at points
    assert not terms["pde:a"].isolated
    heat = compile(Path(__file__).resolve().parents[1] / "examples" / "heat.pde")
    assert not any(t.isolated for t in heat.terms.values())  # 2-D: conditions on lines


def test_compile_an_open_file_keeps_its_name(tmp_path, monkeypatch):
    """Relative data paths resolve against the spec file's folder, whatever the current folder."""
    monkeypatch.chdir(tmp_path)
    path = Path(__file__).resolve().parents[1] / "examples" / "heat_inverse.pde"
    with open(path) as f:
        c = compile(f)
    assert c.spec.path == str(path) and c.point_sets["data:readings"].data.points.shape[0] == 400
