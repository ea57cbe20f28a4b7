"""The derivative plan: each partial once, from a needed parent when there is one; autograd calls counted; FD checks."""

from __future__ import annotations

import itertools

import pytest
import sympy
import torch

from pdec.compiler.derivatives import partial, plan_set
from pdec.compiler.driver import compile
from pdec.core.source import Source
from pdec.language.problem import Equation, Field, Periodic, Problem, Variable, field_function, symbol

D = sympy.Derivative
x, y, t = symbol("x"), symbol("y"), symbol("t")
XT = ("x", "t")


def needs(*indices, field="u", variables=XT):
    return [partial(field, i, variables) for i in indices]


def parents(set_plan) -> dict[str, str]:
    return {child.name: step.parent.name for step in set_plan.steps for _, child in step.children}


def test_names_are_modulus_style_keys():
    assert partial("u", (2, 1), XT).name == "u__x__x__t"
    assert partial("u", (0, 0), XT).name == "u"


def test_burgers_plan_two_passes():
    sp = plan_set("interior", needs((0, 0), (1, 0), (0, 1), (2, 0)), ("u",), XT)
    assert sp.passes == 2
    assert parents(sp) == {"u__x": "u", "u__t": "u", "u__x__x": "u__x"}
    assert [s.parent.name for s in sp.steps] == ["u", "u__x"]
    assert dict((p.name, c) for c, p in sp.steps[0].children) == {"u__x": 0, "u__t": 1}


@pytest.mark.parametrize("other", [(2, 0), (1, 1)])
def test_mixed_third_derivative_extends_whichever_parent_is_needed(other):
    sp = plan_set("interior", needs((2, 1), other), ("u",), XT)
    name = partial("u", other, XT).name
    assert parents(sp)["u__x__x__t"] == name
    assert sp.passes == 3  # u -> u__x -> {other} -> u__x__x__t
    assert {p.name for p in sp.partials} == {"u", "u__x", name, "u__x__x__t"}


def test_lone_high_order_derivative_gets_minimal_chain():
    sp = plan_set("interior", needs((4, 0)), ("u",), XT)
    assert parents(sp) == {"u__x": "u", "u__x__x": "u__x", "u__x__x__x": "u__x__x", "u__x__x__x__x": "u__x__x__x"}
    assert sp.passes == 4
    assert [p.name for p in sp.partials if p not in sp.needed] == ["u", "u__x", "u__x__x", "u__x__x__x"]


def test_shared_parent_serves_several_children():
    # u_xx, u_xy, u_yy all come from ... u_x gives u_xx and u_xy; u_yy needs u_y: 3 passes, not 4.
    xy = ("x", "y")
    sp = plan_set("interior", needs((2, 0), (1, 1), (0, 2), variables=xy), ("u",), xy)
    assert sp.passes == 3
    # a needed first derivative is preferred over an intermediate one
    sp = plan_set("interior", needs((1, 1), (0, 1), variables=xy), ("u",), xy)
    assert parents(sp)["u__x__y"] == "u__y" and sp.passes == 2


def test_every_partial_computed_once_and_parents_before_children():
    indices = list(itertools.product(range(4), range(3)))
    sp = plan_set("interior", needs(*indices[1:]), ("u",), XT)
    seen = [p.name for p in sp.partials]
    assert len(seen) == len(set(seen)) == len(indices)
    available = {sp.roots[0].name}
    for step in sp.steps:
        assert step.parent.name in available
        available |= {c.name for _, c in step.children}


def test_fields_have_separate_roots():
    xy = ("x", "y")
    wanted = needs((0, 0), (1, 0), (0, 1), (2, 0), (0, 2), variables=xy) + needs(
        (0, 0), (1, 0), field="p", variables=xy
    )
    sp = plan_set("interior", wanted, ("u", "v", "p"), xy)
    assert [r.name for r in sp.roots] == ["u", "p"]
    assert sp.passes == 4  # u, u__x, u__y, p


# ---------------------------------------------------------------------------------------------------------------------
# Against torch: one autograd call per pass, derivatives against finite differences
# ---------------------------------------------------------------------------------------------------------------------


def derivative_problem(indices, variables=("x", "y")) -> Problem:
    """One equation per multi-index: its residual is that derivative of u (so residual == derivative)."""
    syms = [symbol(v) for v in variables]
    u = field_function("u")(*syms)
    eqs = []
    for index in indices:
        spec = [(s, n) for s, n in zip(syms, index, strict=True) if n]
        name = "d" + "".join(v * n for v, n in zip(variables, index, strict=True))
        eqs.append(Equation(name, D(u, *spec), sympy.S.Zero))
    return Problem(
        source=Source(""),
        variables=tuple(Variable(v, -1.0, 1.0) for v in variables),
        fields=(Field("u", tuple(variables)),),
        equations=tuple(eqs),
    )


def mlp(d=2, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(d, 12), torch.nn.Tanh(), torch.nn.Linear(12, 12), torch.nn.Tanh(), torch.nn.Linear(12, 1)
    ).double()


def test_autograd_calls_equal_plan_passes(monkeypatch):
    indices = [(1, 0), (0, 1), (2, 0), (2, 1), (0, 3), (1, 1)]
    problem = derivative_problem(indices)
    u = field_function("u")(x, y)
    problem = Problem(
        source=problem.source,
        variables=problem.variables,
        fields=problem.fields,
        equations=problem.equations,
        conditions=(Periodic("p", "x", (u, D(u, x, y))),),
    )
    c = compile(problem, dtype="float64")
    calls = []
    real = torch.autograd.grad

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    pts = {"interior": torch.rand(5, 2, dtype=torch.float64), "bc:p@x=-1": torch.rand(4, 2, dtype=torch.float64)}
    c.evaluate(mlp(), pts)
    assert len(calls) == c.plan.passes == c.plan.sets["interior"].passes + c.plan.sets["bc:p@x=-1"].passes
    assert len({id(y) for y in calls}) == len(calls)  # never the same parent twice
    calls.clear()
    c.evaluate(mlp(), {"interior": pts["interior"]})
    assert len(calls) == c.plan.sets["interior"].passes == 5  # u, u__x, u__y, u__x__x, u__y__y


def central(f, X, index, h):
    """Nested central differences of f: index[i] times along column i, step h."""
    if not any(index):
        return f(X)
    i = next(k for k, n in enumerate(index) if n)
    lower = tuple(n - 1 if k == i else n for k, n in enumerate(index))
    e = torch.zeros_like(X)
    e[:, i] = h
    return (central(f, X + e / 2, lower, h) - central(f, X - e / 2, lower, h)) / h


@pytest.mark.parametrize(
    "indices", [[(1, 0), (0, 1), (1, 1)], [(2, 0), (0, 2), (2, 1)], [(3, 1), (0, 4), (2, 2)], [(5, 0), (3, 2), (1, 4)]]
)
def test_derivatives_match_finite_differences(indices):
    c = compile(derivative_problem(indices), dtype="float64")
    net = mlp(seed=sum(map(sum, indices)))
    X = torch.rand(6, 2, dtype=torch.float64) - 0.5
    got = c.evaluate(net, {"interior": X})
    with torch.no_grad():
        for index, (name, r) in zip(indices, got.items(), strict=True):
            order = sum(index)
            h = 0.04 if order >= 4 else 0.01
            coarse, fine = central(net, X, index, h), central(net, X, index, h / 2)
            richardson = (4 * fine - coarse) / 3  # O(h^4)
            scale = max(1.0, float(richardson.abs().max()))
            err = float((r - richardson).abs().max())
            assert err < 1e-5 * scale, (name, err, scale)


def test_plan_over_a_whole_problem_is_printable():
    c = compile(derivative_problem([(2, 0), (2, 1), (1, 1)]))
    text = str(c.plan)
    assert "interior: 3 backward passes" in text  # u, u__x, u__x__x
    assert any(line.split() == ["u__x__x__y", "from", "u__x__x"] for line in text.splitlines())
    assert "total: 3 backward passes per evaluation" in text
    assert c.plan.passes == 3
