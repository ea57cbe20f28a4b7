"""Interpolation: tabulated coefficients -> torch source for their tables and their interpolant (values, partials).

A residual's coefficients arrive as sympy atoms (``a(x, y)``, ``Derivative(a(x, y), x)``); :func:`substitute`
replaces each by a symbol named by its key (``a``, ``a__x``), like a field's partials. The generated module holds one
:class:`Table` per coefficient used (its grid axes and data, base64 float64) and the functions below, copied by
source (:func:`helpers_source`): each point set's function binds ``a, a__x = interpolate(_coef_a, X, ...)``, the
interpolant and its partials in closed form at the points. A coefficient is a function of the inputs only, so both
lowerings (forward and autograd) bind the same values; the chain and Leibniz rules already expanded ``d(a*u_x, x)``
into ``a_x*u_x + a*u_xx`` symbolically.

Cell by cell, the interpolant is a tensor product of one-dimensional polynomials in the offset ``t`` in the cell
(:data:`BASES`): multilinear (``linear``: first derivatives piecewise constant, any derivative of order two or more in
one argument zero inside the cells, mixed first derivatives such as ``a_xy`` piecewise constant) or cubic Hermite
(``cubic``: node slopes from second-order finite differences, ``np.gradient``; values and first derivatives
continuous, derivatives up to the third in each argument). Both reproduce the table at its nodes; ``linear`` is exact
for functions linear in each argument, ``cubic`` for quadratics. Outside the grid the edge cells extend it (the
checker makes sure the grid covers the domain, pdec.language.coefficients).
"""

from __future__ import annotations

import base64
import inspect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import sympy
import torch

from pdec.compiler.derivatives import partial_name
from pdec.compiler.lower import identifier
from pdec.language.problem import Coefficient, Problem, Tabulated

# The one-dimensional basis of each method: (node, slope) -> polynomial coefficients in t (lowest first); a slope
# basis is scaled by the cell width h (cubic Hermite: h00, h10, h01, h11).
BASES = {
    "linear": {(0, 0): (1.0, -1.0), (1, 0): (0.0, 1.0)},
    "cubic": {
        (0, 0): (1.0, 0.0, -3.0, 2.0),
        (0, 1): (0.0, 1.0, -2.0, 1.0),
        (1, 0): (0.0, 0.0, 3.0, -2.0),
        (1, 1): (0.0, 0.0, -1.0, 1.0),
    },
}


class Table:
    """A tabulated coefficient in the generated module: its arguments' input columns, grid and data planes.

    ``data`` is base64 of float64 planes ``[P, size]`` (little-endian): the values on the grid (``indexing="ij"``),
    then, for ``cubic``, each mixed first derivative (plane bit k set: differentiated in argument k, first = highest).
    Copies in the points' dtype and device are made once.
    """

    def __init__(self, columns, axes, size, data, method):
        self.columns = columns
        self.method = method
        self.axes = [torch.tensor(axis, dtype=torch.float64) for axis in axes]
        self.data = torch.frombuffer(bytearray(base64.b64decode(data)), dtype=torch.float64).reshape(-1, size)
        self.copies = {}

    def on(self, X):
        """The axes and data planes in the dtype and on the device of ``X``."""
        key = (X.dtype, X.device)
        if key not in self.copies:
            self.copies[key] = ([a.to(X.device, X.dtype) for a in self.axes], self.data.to(X.device, X.dtype))
        return self.copies[key]


def locate(axis, x):
    """The cell of each coordinate in ``x`` [N, 1] (edge cells beyond the grid), its offset t in it and its width h."""
    i = (torch.searchsorted(axis, x.detach().contiguous(), right=True) - 1).clamp(0, axis.shape[0] - 2)
    lo = axis[i]
    h = axis[i + 1] - lo
    return i, (x - lo) / h, h


def basis(coefficients, n, t, h, slope):
    """The n-th derivative in x of one basis polynomial (``coefficients`` in t; a slope basis times h) at ``t``."""
    c = list(coefficients)
    for _ in range(n):
        c = [k * c[k] for k in range(1, len(c))]
    value = torch.zeros_like(t)
    for k in reversed(range(len(c))):
        value = value * t + c[k]
    return value * h ** (slope - n)


def interpolate(table, X, indices):
    """The interpolant of ``table`` and its partials at ``X`` [N, d]: one [N, 1] tensor per multi-index.

    A multi-index counts the differentiations in each of the table's arguments, in their order.
    """
    axes, data = table.on(X)
    cells = [locate(axis, X[:, c : c + 1]) for axis, c in zip(axes, table.columns, strict=True)]
    parts = BASES[table.method]
    gathered = {}
    for key in itertools.product(parts, repeat=len(axes)):  # a (node, slope) pair per argument
        offset, plane = 0, 0
        for (i, _, _), axis, (node, slope) in zip(cells, axes, key, strict=True):
            offset = offset * axis.shape[0] + i + node
            plane = 2 * plane + slope
        gathered[key] = data[plane][offset]
    out = []
    for index in indices:
        weights = [
            {p: basis(parts[p], n, t, h, p[1]) for p in parts} for (_, t, h), n in zip(cells, index, strict=True)
        ]
        total = torch.zeros_like(X[:, :1])
        for key, values in gathered.items():
            weight = values
            for w, part in zip(weights, key, strict=True):
                weight = weight * w[part]
            total = total + weight
        out.append(total)
    return out


HELPERS = (Table, locate, basis, interpolate)


def helpers_source() -> str:
    """The source of the generated module's interpolation helpers (this module's own, copied)."""
    head = ["import base64", "import itertools", "", f"BASES = {BASES!r}"]
    return "\n".join(head) + "\n\n\n" + "\n\n".join(inspect.getsource(h) for h in HELPERS)


# ---------------------------------------------------------------------------------------------------------------------
# Compile time: the tables and the bindings
# ---------------------------------------------------------------------------------------------------------------------


def planes(coefficient: Coefficient) -> np.ndarray:
    """The data planes ``[P, size]`` of a coefficient's table (see :class:`Table`)."""
    values = np.asarray(coefficient.values, dtype=np.float64)
    if coefficient.method == "linear":
        return values.reshape(1, -1)
    out = []
    for bits in itertools.product((0, 1), repeat=values.ndim):
        plane = values
        for k, bit in enumerate(bits):
            if bit:
                edge = 2 if len(coefficient.axes[k]) > 2 else 1
                plane = np.gradient(plane, coefficient.axes[k], axis=k, edge_order=edge)
        out.append(plane.reshape(-1))
    return np.stack(out)


def table_arguments(coefficient: Coefficient, variables: Sequence[str]) -> tuple:
    """The arguments of ``Table(columns, axes, size, data, method)`` for a coefficient of a problem's variables."""
    columns = tuple(list(variables).index(a) for a in coefficient.args)
    axes = tuple([float(v) for v in axis] for axis in coefficient.axes)
    data = base64.b64encode(np.ascontiguousarray(planes(coefficient), dtype="<f8").tobytes()).decode("ascii")
    return columns, axes, int(np.asarray(coefficient.values).size), data, coefficient.method


def table(coefficient: Coefficient, variables: Sequence[str]) -> Table:
    """The coefficient's Table, to evaluate with :func:`interpolate` (points with columns ``variables``)."""
    return Table(*table_arguments(coefficient, variables))


def table_name(name: str) -> str:
    """The generated module's name of a coefficient's table (``_coef_a``: no spec name starts with ``_``)."""
    return f"_coef_{identifier(name)}"


def tables_source(problem: Problem, names: Iterable[str]) -> str:
    """The helpers and one ``_coef_<name> = Table(...)`` line per coefficient named (empty for none)."""
    variables = tuple(v.name for v in problem.variables)
    wanted = set(names)
    used = [c for c in problem.coefficients if c.name in wanted]
    lines = [f"{table_name(c.name)} = Table{table_arguments(c, variables)!r}" for c in used]
    return helpers_source() + "\n\n" + "\n".join(lines) if lines else ""


Use = tuple[str, tuple[int, ...]]  # (coefficient, multi-index over its arguments)


def substitute(expr: sympy.Expr, problem: Problem) -> tuple[sympy.Expr, dict[sympy.Symbol, Use]]:
    """Replace each coefficient and coefficient derivative by a symbol named by its key (``a``, ``a__x``)."""
    return replace_calls(expr, problem, Tabulated, lambda name: problem_coefficient(problem, name).args)


def replace_calls(
    expr: sympy.Expr, problem: Problem, kind: type, args_of: Callable[[str], tuple[str, ...]]
) -> tuple[sympy.Expr, dict[sympy.Symbol, Use]]:
    """Replace each call of a ``kind`` function (a table, an unknown function) and each of its derivatives by a symbol
    named by its key (``a``, ``a__x``); ``uses`` maps each symbol to (name, multi-index over ``args_of(name)``)."""  # noqa: D205, D209
    variables = tuple(v.name for v in problem.variables)
    atoms: dict[sympy.Expr, sympy.Symbol] = {}
    uses: dict[sympy.Symbol, Use] = {}
    for atom in expr.atoms(kind, sympy.Derivative):
        inner = atom.expr if isinstance(atom, sympy.Derivative) else atom
        if not isinstance(inner, kind):
            continue
        counts = dict.fromkeys(variables, 0)
        for var, n in atom.variable_count if isinstance(atom, sympy.Derivative) else ():
            counts[var.name] += int(n)
        name = type(inner).__name__
        key = sympy.Symbol(partial_name(name, tuple(counts[v] for v in variables), variables))
        atoms[atom] = key
        uses[key] = (name, tuple(counts[a] for a in args_of(name)))
    return expr.xreplace(atoms), uses


def problem_coefficient(problem: Problem, name: str) -> Coefficient:
    """The problem's coefficient called ``name``."""
    return next(c for c in problem.coefficients if c.name == name)


def binding_lines(uses: Mapping[sympy.Symbol, Use], used: set, indent: str = "    ") -> list[str]:
    """Lines binding the coefficient symbols in ``used``: one ``interpolate`` call per coefficient."""
    def call(name: str, indices: tuple) -> str:
        return f"interpolate({table_name(name)}, X, {indices!r})"

    return grouped_bindings(uses, used, call, indent)


def grouped_bindings(
    uses: Mapping[sympy.Symbol, Use], used: set, call: Callable[[str, tuple], str], indent: str = "    "
) -> list[str]:
    """Lines binding the symbols in ``used``: one ``call(name, indices)`` per table or function, unpacked by index.

    Shared by coefficient tables (here) and unknown functions (pdec.compiler.learned).
    """
    grouped: dict[str, list[tuple[sympy.Symbol, tuple[int, ...]]]] = {}
    for sym, (name, index) in sorted(uses.items(), key=lambda kv: kv[0].name):
        if sym in used:
            grouped.setdefault(name, []).append((sym, index))
    lines = []
    for name, items in grouped.items():
        text = call(name, tuple(index for _, index in items))
        if len(items) == 1:
            lines.append(f"{indent}{identifier(items[0][0].name)} = {text}[0]")
        else:
            lines.append(f"{indent}{', '.join(identifier(sym.name) for sym, _ in items)} = {text}")
    return lines


__all__ = ["BASES", "Table", "binding_lines", "grouped_bindings", "interpolate", "substitute", "table", "tables_source"]
