"""Units: ``[W/(m*K)]`` -> a pint unit, its physical dimension and its conversion to SI base units.

A unit is written as an expression of unit names (pint's: ``m``, ``K``, ``W``, ``kg``, ``degC``, ``mm``, ``h``),
``*``, ``/``, ``^`` with a whole-number exponent, and the number 1 (``[1/s]``). The syntax keeps it as an expression
(pdec.language.syntax.Unit); :func:`resolve` builds the pint unit node by node, handing pint one unit name at a time
(never a whole string of user text), and turns pint's refusals into located ``PdecUnitError`` errors.

:class:`Dimension` is a physical dimension (exponents of pint's base dimensions), the algebra the dimension check
(pdec.language.dimensions) computes with. pint is imported when a spec first writes a unit, not with pdec.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pdec.core.errors import PdecUnitError, did_you_mean, short
from pdec.language import syntax as ast

# pint's base dimensions -> the SI base unit that shows them (in this order)
BASE_UNITS = {
    "[mass]": "kg",
    "[length]": "m",
    "[time]": "s",
    "[temperature]": "K",
    "[current]": "A",
    "[substance]": "mol",
    "[luminosity]": "cd",
}
MAX_EXPONENT = 12


@functools.lru_cache(maxsize=1)
def registry() -> Any:
    """Pint's unit registry, made once per process (imported on first use: ``pdec check`` of a spec without units
    never imports pint)."""  # noqa: D205, D209
    try:
        import pint
    except ImportError:  # pragma: no cover - pint is a dependency; a broken environment
        raise PdecUnitError(
            "units need the pint package, which is not installed", hint="pip install pint"
        ) from None
    return pint.UnitRegistry()


@dataclass(frozen=True)
class Dimension:
    """A physical dimension: exponents of pint's base dimensions (``{"[length]": 1, "[time]": -1}``), sorted.

    ``Dimension()`` is dimensionless. ``ANY`` (``wildcard=True``) is the dimension of the literal 0, equal to any.
    """

    exponents: tuple[tuple[str, Fraction], ...] = ()
    wildcard: bool = False

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> Dimension:
        """The dimension with these exponents (zeros dropped)."""
        return cls(tuple(sorted((k, Fraction(v).limit_denominator(1000)) for k, v in mapping.items() if v != 0)))

    def __mul__(self, other: Dimension) -> Dimension:
        if self.wildcard or other.wildcard:
            return ANY
        mine = dict(self.exponents)
        for k, v in other.exponents:
            mine[k] = mine.get(k, 0) + v
        return Dimension.of(mine)

    def __truediv__(self, other: Dimension) -> Dimension:
        return self * other ** -1

    def __pow__(self, power: Fraction | int) -> Dimension:
        if self.wildcard:
            return ANY
        return Dimension.of({k: v * Fraction(power) for k, v in self.exponents})

    @property
    def dimensionless(self) -> bool:
        """No dimension (a pure number), or the wildcard."""
        return self.wildcard or not self.exponents

    def agrees(self, other: Dimension) -> bool:
        """Equal dimensions, or one of them the wildcard."""
        return self.wildcard or other.wildcard or self.exponents == other.exponents

    def __str__(self) -> str:
        """The dimension as SI base units: ``kg/(m*s^3)``; ``1`` when dimensionless."""
        if self.wildcard:
            return "any"
        exps = dict(self.exponents)
        keys = [k for k in BASE_UNITS if k in exps] + sorted(k for k in exps if k not in BASE_UNITS)
        ordered = [(BASE_UNITS.get(k, k.strip("[]")), exps[k]) for k in keys]
        top = [_power(u, e) for u, e in ordered if e > 0]
        bottom = [_power(u, -e) for u, e in ordered if e < 0]
        text = "*".join(top) or "1"
        if bottom:
            text += "/" + (bottom[0] if len(bottom) == 1 else "(" + "*".join(bottom) + ")")
        return text


ANY = Dimension(wildcard=True)
NONE = Dimension()


def _power(unit: str, exponent: Fraction) -> str:
    return unit if exponent == 1 else f"{unit}^{exponent}" if exponent.denominator == 1 else f"{unit}^({exponent})"


def dimension(unit: Any) -> Dimension:
    """The dimension of a pint unit."""
    return Dimension.of(dict(unit.dimensionality))


def conversion(unit: Any) -> tuple[float, float]:
    """``(factor, offset)`` with ``SI = offset + factor * value`` for a value in ``unit`` (offset: degC, degF)."""
    quantity = registry().Quantity
    offset = float(quantity(0.0, unit).to_base_units().magnitude)
    factor = float(quantity(1.0, unit).to_base_units().magnitude) - offset
    return factor, offset


def spelled(unit: Any) -> str:
    """A unit in pint's short spelling: ``W/(m*K)`` -> ``W / K / m``."""
    return f"{unit:~}" or "1"


def resolve(node: ast.Unit) -> Any:
    """The pint unit of ``[...]`` (a PdecUnitError at the part pint does not know, or at a misplaced number)."""
    return _resolve(node.expr)


def _resolve(node: ast.Expr) -> Any:
    """One node of a unit expression -> a pint unit."""
    ureg = registry()
    if isinstance(node, ast.Name):
        return _unit_name(node)
    if isinstance(node, ast.Number) and node.text == "1":
        return ureg.dimensionless
    if isinstance(node, ast.Product):
        unit = _resolve(node.first)
        for op, factor in node.rest:
            unit = unit * _resolve(factor) if op == "*" else unit / _resolve(factor)
        return unit
    if isinstance(node, ast.Power):
        return _resolve(node.base) ** _exponent(node.exponent)
    raise PdecUnitError(
        f"'{short(node.span.text) if node.span else '?'}' is not part of a unit",
        node.span,
        "a unit is written with unit names, *, /, ^ and whole-number exponents, e.g. [W/(m*K)] or [m^2/s]",
    )


def _unit_name(node: ast.Name) -> Any:
    """One unit name, looked up in pint's registry (a PdecUnitError naming it when pint does not know it)."""
    ureg = registry()
    try:
        return ureg.Unit(node.name)
    except Exception:  # noqa: BLE001 - pint raises UndefinedUnitError, or a parser error for odd names
        close = did_you_mean(node.name, [n for n in ("m", "s", "K", "kg", "W", "J", "N", "Pa", "mm", "degC")])
        raise PdecUnitError(
            f"unknown unit '{short(node.name)}'",
            node.span,
            close or "units are pint's names: m, mm, s, h, kg, K, degC, W, J, N, Pa, ...",
        ) from None


def _exponent(node: ast.Expr) -> int:
    """A unit's exponent: a whole number, possibly negative (``m^-1`` is written ``1/m``)."""
    sign = 1
    if isinstance(node, ast.Neg):
        sign, node = (-1 if node.sign == "-" else 1), node.operand
    if not (isinstance(node, ast.Number) and node.text.isdigit() and int(node.text) <= MAX_EXPONENT):
        raise PdecUnitError(
            "a unit's exponent is a whole number",
            node.span,
            f"write e.g. m^2 or 1/s^2 (at most {MAX_EXPONENT})",
        )
    return sign * int(node.text)


def si_value(value: float, node: ast.Unit) -> float:
    """A number in the unit ``node`` as SI base units (``20 [cm]`` -> 0.2)."""
    factor, offset = conversion(resolve(node))
    return offset + factor * value
