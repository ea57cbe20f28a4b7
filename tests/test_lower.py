"""Lowering: the strict printer (every node kind against sympy.lambdify), constant folding, CSE, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from pdec.compiler.lower import RECIPROCAL, UNARY, TorchPrinter, fold_constants, identifier, lower
from pdec.core.errors import PdecCompileError
from pdec.core.source import Source

a, b = sympy.Symbol("a"), sympy.Symbol("b")
NAMES = {a: "a", b: "b"}

# (expression, lambdify module name for the truth); a in (0.2, 0.6), b in (1.2, 1.8)
TABLE = [
    a + b,
    a - 2 * b,
    -a,
    -a * b,
    -((a + b) ** 2),
    a * b / (1 + a),
    2 / b,
    a / b**2,
    1 / sympy.sqrt(b),
    sympy.sqrt(a + b),
    a**3,
    b ** sympy.Rational(3, 2),
    b**-3,
    2**a,
    a**b,
    sympy.E ** (a * b),
    sympy.pi * a + sympy.Rational(1, 3),
    sympy.Float(2.5) * a - sympy.E,
    sympy.sin(a),
    sympy.cos(a),
    sympy.tan(a),
    sympy.sinh(a),
    sympy.cosh(a),
    sympy.tanh(a),
    sympy.exp(a),
    sympy.log(b),
    sympy.log(b, 10),
    sympy.Abs(a - b),
    sympy.sign(a - b),
    sympy.asin(a),
    sympy.acos(a),
    sympy.atan(a),
    sympy.asinh(a),
    sympy.acosh(b),
    sympy.atanh(a),
    sympy.erf(a),
    sympy.erfc(a),
    sympy.sech(a),
    sympy.csch(a),
    sympy.sec(a),
    sympy.csc(a),
    sympy.cot(a),
    sympy.atan2(a, b),
    sympy.Max(a, b, sympy.Rational(1, 2)),
    sympy.Min(a, b),
    sympy.Heaviside(a - 0.4),
    sympy.sin(a * b) ** 2 + sympy.cos(sympy.sin(a * b)),
]


def evaluate(source: str, lines: list[str] = ()) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    env = {
        "torch": torch,
        "a": 0.2 + 0.4 * torch.rand(50, 1, generator=g, dtype=torch.float64),
        "b": 1.2 + 0.6 * torch.rand(50, 1, generator=g, dtype=torch.float64),
    }
    for line in lines:
        exec(line.strip(), env)
    return eval(source, env), env


@pytest.mark.parametrize("expr", TABLE, ids=str)
def test_printer_agrees_with_lambdify(expr):
    lines, (source,) = lower([expr], NAMES, [None])
    got, env = evaluate(source, lines)
    truth = sympy.lambdify([a, b], expr, ["scipy", "numpy"])(env["a"].numpy(), env["b"].numpy())
    np.testing.assert_allclose(got.numpy() + 0 * env["a"].numpy(), truth + 0 * env["a"].numpy(), rtol=1e-13)


def test_every_function_of_the_printer_is_in_the_table():
    folded = [fold_constants(e) for e in TABLE]
    names = {type(node).__name__ for e in folded for node in sympy.preorder_traversal(e)}
    assert set(UNARY) | set(RECIPROCAL) | {"atan2", "Max", "Min", "Heaviside"} <= names
    printers = {m[len("_print_") :] for m in dir(TorchPrinter) if m.startswith("_print_")}
    kinds = {cls.__name__ for e in TABLE for node in sympy.preorder_traversal(e) for cls in type(node).__mro__}
    assert printers <= kinds


@pytest.mark.parametrize(
    "expr, text",
    [
        (a * b, "a * b"),
        (a - b, "a - b"),
        (-a * b, "-a * b"),
        (a / b, "a / b"),
        (1 / b, "1 / b"),
        (a**2, "a**2"),
        (sympy.sqrt(a), "torch.sqrt(a)"),
        (a - 2 * b, "a - 2 * b"),
        (2 * sympy.pi * a, "6.283185307179586 * a"),
        (sympy.Rational(1, 100) / sympy.pi * a, "0.003183098861837907 * a"),
        (sympy.sqrt(2) * sympy.exp(a) / 3, "0.4714045207910317 * torch.exp(a)"),
        ((a + b) ** 2, "(a + b)**2"),
        (a ** (b + 1), "a**(b + 1)"),
    ],
)
def test_readable_source_with_folded_constants(expr, text):
    assert lower([expr], NAMES, [None])[1] == [text]


def test_fold_constants_keeps_exact_exponents():
    folded = fold_constants(sympy.sqrt(a) * sympy.pi**2 + a**3)
    assert folded.has(a**3) and folded.has(sympy.sqrt(a))
    assert not folded.has(sympy.pi)


def test_common_subexpressions_are_shared():
    e1 = sympy.sin(a * b) ** 2 + sympy.exp(sympy.sin(a * b))
    e2 = sympy.cos(sympy.sin(a * b))
    lines, sources = lower([e1, e2], NAMES, [None, None])
    assert sum(s.count("torch.sin") for s in lines + sources) == 1
    assert lines[0].strip().startswith("_c0 = ")


def test_cse_names_avoid_taken_names():
    c0 = sympy.Symbol("_c0")
    lines, _ = lower([sympy.sin(a * b) ** 2 + sympy.sin(a * b) + c0], {**NAMES, c0: "_c0"}, [None])
    assert not any(line.strip().startswith("_c0 =") for line in lines)


@pytest.mark.parametrize(
    "expr, word",
    [
        (sympy.gamma(a), "gamma"),
        (sympy.Piecewise((a, a > 0), (b, True)), "Piecewise"),
        (sympy.besselj(0, a), "besselj"),
        (sympy.Function("mystery")(a), "mystery"),
        (sympy.I * a, "not a finite real"),
        (sympy.zoo * a, "not a finite real"),
        (sympy.Symbol("z") * a, "'z' has no value"),
    ],
)
def test_strict_printer_refuses_unknown_nodes_with_the_span(expr, word):
    span = Source("eq e: u = 1\n").span(0, 11)
    with pytest.raises(PdecCompileError, match=word) as info:
        lower([expr], NAMES, [span])
    assert info.value.span is span


def test_identifier_avoids_keywords_and_reserved_names():
    assert identifier("lambda") == "lambda_"
    assert identifier("torch") == "torch_"
    assert identifier("X") == "X_"
    assert identifier("u__x__t") == "u__x__t"


def test_float32_literals_follow_the_tensor_dtype():
    (source,) = lower([sympy.pi * a], NAMES, [None])[1]
    out = eval(source, {"torch": torch, "a": torch.ones(2, 1)})
    assert out.dtype == torch.float32 and float(out[0]) == pytest.approx(math.pi, rel=1e-7)
