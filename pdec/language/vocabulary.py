"""The language's vocabulary: the one table of functions, shared by the checker, the printer and the display.

Each :class:`Function` says how a spec writes it (``arcsin``), the sympy node it becomes (``asin``), how to evaluate
it on a float (constant expressions), and how the torch printer lowers the node. ``LOWERING`` adds the sympy nodes
no spec writes but differentiation can produce (``sec``, ``erf``, ...). ``RESERVED`` holds every name a spec cannot
declare.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from pdec.language.parse import KEYWORDS


@dataclass(frozen=True)
class Function:
    """One function of the language.

    Attributes:
        name: how a spec writes it (``arcsin``).
        build: the sympy function building its node.
        value: its value on a float (constant expressions).
        node: the name of the sympy node's class (``asin``; ``Abs`` for ``abs``).
        torch: the torch function printing the node (``torch.asin``).
        reciprocal: the node prints as ``1 / torch(...)`` (``sech``).
    """

    name: str
    build: Callable
    value: Callable[[float], float]
    node: str
    torch: str
    reciprocal: bool = False


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("sin", sympy.sin, math.sin, "sin", "torch.sin"),
        Function("cos", sympy.cos, math.cos, "cos", "torch.cos"),
        Function("tan", sympy.tan, math.tan, "tan", "torch.tan"),
        Function("sinh", sympy.sinh, math.sinh, "sinh", "torch.sinh"),
        Function("cosh", sympy.cosh, math.cosh, "cosh", "torch.cosh"),
        Function("tanh", sympy.tanh, math.tanh, "tanh", "torch.tanh"),
        Function("exp", sympy.exp, math.exp, "exp", "torch.exp"),
        Function("log", sympy.log, math.log, "log", "torch.log"),
        Function("sqrt", sympy.sqrt, math.sqrt, "Pow", ""),  # sympy writes sqrt(x) as x**(1/2)
        Function("abs", sympy.Abs, abs, "Abs", "torch.abs"),
        Function("arcsin", sympy.asin, math.asin, "asin", "torch.asin"),
        Function("arccos", sympy.acos, math.acos, "acos", "torch.acos"),
        Function("arctan", sympy.atan, math.atan, "atan", "torch.atan"),
        Function("sech", sympy.sech, lambda v: 1.0 / math.cosh(v) if abs(v) < 700 else 0.0, "sech", "torch.cosh", True),
        Function("sign", sympy.sign, lambda v: float((v > 0) - (v < 0)), "sign", "torch.sign"),
    )
}

# sympy node -> (torch function, reciprocal): the language's functions, then the nodes sympy may produce from them.
LOWERING: dict[str, tuple[str, bool]] = {f.node: (f.torch, f.reciprocal) for f in FUNCTIONS.values() if f.torch}
LOWERING.update(
    {
        "asinh": ("torch.asinh", False),
        "acosh": ("torch.acosh", False),
        "atanh": ("torch.atanh", False),
        "erf": ("torch.erf", False),
        "erfc": ("torch.erfc", False),
        "csch": ("torch.sinh", True),
        "sec": ("torch.cos", True),
        "csc": ("torch.sin", True),
        "cot": ("torch.tan", True),
    }
)

# sympy node -> the name a spec writes, where they differ (for printing in pdec syntax).
SPELLING: dict[str, str] = {f.node: f.name for f in FUNCTIONS.values() if f.torch and f.node != f.name}

OPERATORS = ("d", "lap", "dn")
DISCOVER = "discover"  # a library of candidate terms in an equation (pdec.language.library)
BUILTIN_CONSTANTS = {"pi": (sympy.pi, math.pi), "e": (sympy.E, math.e)}
RESERVED = frozenset(KEYWORDS | set(FUNCTIONS) | set(OPERATORS) | set(BUILTIN_CONSTANTS) | {DISCOVER})
