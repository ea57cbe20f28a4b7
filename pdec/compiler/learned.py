"""Unknown functions in residuals: sympy atoms -> symbols bound to a network's values and partials at the points.

An unknown function ``k(x)`` (``unknown k(x) = 1``) is a small network of its own (pdec.compiler.unknowns.FunctionNet)
that the generated code receives in ``theta`` (``theta["k"]``, a module mapping its variables' columns ``[N, k]`` to
``[N, 1]``). As for a tabulated coefficient (pdec.compiler.interpolation), :func:`substitute` replaces ``k(x)`` and
every derivative of it by a symbol named by its key (``k``, ``k__x``, ``k__x__x``); the chain and product rules
have already expanded ``d(k*u_x, x)`` into ``k_x*u_x + k*u_xx``. Each point set's function then binds them with one
call, ``k, k__x = function_partials(theta["k"], X, columns, indices)``, the same under both lowerings: the function's
partials are forward-mode derivatives (``torch.func.jvp``) of its own small network, nested once per
differentiation, which compose with the backward pass of the loss (the parameters' gradients, also the points'),
with the fields' forward mode, and with ``torch.func`` (the Levenberg-Marquardt Jacobian, pdec.train.jacobian). A
function of some variables has no partials in the others: they never appear (sympy differentiates ``k(x)`` by ``y``
to zero before the compiler sees it).

``truths_source`` writes each function's ``true`` expression as a torch function of its variables' columns
(``TRUTHS``), through the same strict printer as the residuals (pdec.compiler.lower): no user text is evaluated.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import sympy
import torch

from pdec.compiler.interpolation import grouped_bindings, replace_calls
from pdec.compiler.lower import identifier, lower
from pdec.language.problem import Learned, Problem, UnknownFunction, symbol


def function_partials(function, X, columns, indices):
    """An unknown function of the columns ``columns`` of X and its partials: one [N, 1] tensor per multi-index.

    A multi-index counts the differentiations in each of the function's variables (in ``columns`` order). Each
    partial is forward-mode AD (torch.func.jvp), nested once per differentiation: it composes with backward passes
    and with torch.func transforms. Every row depends on its own point only, so one tangent column of ones gives
    every point's partial at once.
    """
    Z = X[:, list(columns)]
    out = []
    for index in indices:
        f = function
        for j, n in enumerate(index):
            for _ in range(n):
                f = directional(f, j)
        out.append(f(Z))
    return out


def directional(f, j):
    """The partial of f (a function of Z [N, k]) in column j of Z: one forward-mode pass."""

    def partial(Z):
        tangent = torch.zeros_like(Z)
        tangent[:, j] = 1
        return torch.func.jvp(f, (Z,), (tangent,))[1]

    return partial


HELPERS = (function_partials, directional)


def helpers_source() -> str:
    """The source of the generated module's unknown-function helpers (this module's own, copied)."""
    return "\n\n".join(inspect.getsource(h) for h in HELPERS)


Use = tuple[str, tuple[int, ...]]  # (unknown function, multi-index over its variables)


def function_of(problem: Problem, name: str) -> UnknownFunction:
    """The problem's unknown function called ``name``."""
    return next(f for f in problem.functions if f.name == name)


def substitute(expr: sympy.Expr, problem: Problem) -> tuple[sympy.Expr, dict[sympy.Symbol, Use]]:
    """Replace each unknown function and each of its derivatives by a symbol named by its key (``k``, ``k__x``)."""
    return replace_calls(expr, problem, Learned, lambda name: function_of(problem, name).args)


def binding_lines(uses: Mapping[sympy.Symbol, Use], used: set, problem: Problem, indent: str = "    ") -> list[str]:
    """Lines binding the unknown-function symbols in ``used``: one ``function_partials`` call per function."""
    variables = [v.name for v in problem.variables]

    def call(name: str, indices: tuple) -> str:
        columns = tuple(variables.index(a) for a in function_of(problem, name).args)
        return f"function_partials(theta[{name!r}], X, {columns!r}, {indices!r})"

    return grouped_bindings(uses, used, call, indent)


def truths_source(problem: Problem) -> str:
    """``TRUTHS``: each unknown function with a ``true`` expression -> ``truth_<name>(Z)``, its values ``[N, 1]``.

    ``Z`` holds the function's variables' columns; empty (``TRUTHS = {}``) when no function has one.
    """
    chunks, table = [], []
    for f in problem.functions:
        if f.true is None:
            continue
        names = {symbol(a): identifier(a) for a in f.args}
        expr = sympy.sympify(f.true).xreplace({symbol(c.name): sympy.Float(c.value) for c in problem.constants})
        cse_lines, (source,) = lower([expr], names, [f.span])
        used = {s.name for s in expr.free_symbols}
        lines = [f"def truth_{identifier(f.name)}(Z):", f'    """The true {f.name} at Z [N, {len(f.args)}]."""']
        lines += [f"    {identifier(a)} = Z[:, {i}:{i + 1}]" for i, a in enumerate(f.args) if a in used]
        lines += [*cse_lines, f"    return ({source}) + torch.zeros_like(Z[:, :1])"]
        chunks.append("\n".join(lines))
        table.append(f"    {f.name!r}: truth_{identifier(f.name)},\n")
    return "\n\n\n".join([*chunks, f"TRUTHS = {{\n{''.join(table)}}}" if table else "TRUTHS = {}"])


__all__ = ["binding_lines", "function_partials", "helpers_source", "substitute", "truths_source"]
