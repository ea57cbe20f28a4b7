"""Small hand-built problems for the trainer tests (Problem records compiled by pdec.compiler.driver, no front end)."""

from __future__ import annotations

import numpy as np
import sympy

from pdec.compiler.driver import compile as compile_problem
from pdec.core.settings import Settings
from pdec.core.source import Source
from pdec.language.problem import (
    Condition,
    DataSet,
    Equation,
    Face,
    Field,
    Piece,
    Problem,
    Unknown,
    Variable,
    field_function,
    symbol,
)

FAST = dict(layers=(8, 8), interior=32, boundary=2, adam=20, lbfgs=0, eval_points=128, eval_every=5)


def small(**overrides):
    """FAST with ``overrides``."""
    return {**FAST, **overrides}


def poisson1d(**settings):
    """-u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0; exact u = sin(pi x)."""
    x = symbol("x")
    u = field_function("u")(x)
    text = "var x in [0, 1]\nfield u(x)\neq poisson: -u_xx = pi^2*sin(pi*x)\nbc left: u = 0 at x = 0\n"
    problem = Problem(
        source=Source(text, "poisson_standin.pde"),
        variables=(Variable("x", 0.0, 1.0),),
        fields=(Field("u", ("x",)),),
        equations=(Equation("poisson", -sympy.Derivative(u, (x, 2)), sympy.pi**2 * sympy.sin(sympy.pi * x)),),
        conditions=(
            Condition("left", "bc", (Piece(Face("x", 0.0, "lo"), u),), u, sympy.Integer(0)),
            Condition("right", "bc", (Piece(Face("x", 1.0, "hi"), u),), u, sympy.Integer(0)),
        ),
        exact={"u": sympy.sin(sympy.pi * x)},
        settings=Settings().replace(**settings),
    )
    return compile_problem(problem)


def poisson_inverse(**settings):
    """-k u'' = pi^2 sin(pi x) with unknown k (true 1, own lr) and 16 observations of u = sin(pi x)."""
    x = symbol("x")
    u = field_function("u")(x)
    k = symbol("k")
    xs = np.linspace(0.05, 0.95, 16)[:, None]
    data = DataSet("obs", "<memory>", ("x",), ("u",), xs, np.sin(np.pi * xs))
    problem = Problem(
        source=Source("# inverse stand-in\n", "inverse_standin.pde"),
        variables=(Variable("x", 0.0, 1.0),),
        fields=(Field("u", ("x",)),),
        unknowns=(Unknown("k", 0.5, positive=True, true=1.0, lr=1e-2),),
        equations=(Equation("poisson", -k * sympy.Derivative(u, (x, 2)), sympy.pi**2 * sympy.sin(sympy.pi * x)),),
        conditions=(
            Condition(
                "ends", "bc", (Piece(Face("x", 0.0, "lo"), u), Piece(Face("x", 1.0, "hi"), u)), u, sympy.Integer(0)
            ),
        ),
        data=(data,),
        exact={"u": sympy.sin(sympy.pi * x)},
        settings=Settings().replace(**settings),
    )
    return compile_problem(problem)


def heat2d(**settings):
    """u_t = u_xx on x in [-1, 1], t in [0, 1]: an ic face (length 2) and a two-piece wall condition (length 1 each)."""
    x, t = symbol("x"), symbol("t")
    u = field_function("u")(x, t)
    problem = Problem(
        source=Source("# heat stand-in\n", "heat_standin.pde"),
        variables=(Variable("x", -1.0, 1.0), Variable("t", 0.0, 1.0, is_time=True)),
        fields=(Field("u", ("x", "t")),),
        equations=(Equation("heat", sympy.Derivative(u, t), sympy.Derivative(u, (x, 2))),),
        conditions=(
            Condition(
                "initial",
                "ic",
                (Piece(Face("t", 0.0, "lo"), u + sympy.sin(sympy.pi * x)),),
                u,
                -sympy.sin(sympy.pi * x),
            ),
            Condition(
                "walls", "bc", (Piece(Face("x", -1.0, "lo"), u), Piece(Face("x", 1.0, "hi"), u)), u, sympy.Integer(0)
            ),
        ),
        exact={"u": -sympy.exp(-(sympy.pi**2) * t) * sympy.sin(sympy.pi * x)},
        settings=Settings().replace(**settings),
    )
    return compile_problem(problem)
