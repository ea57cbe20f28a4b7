"""Derivative planning: which partial derivatives each point set needs, and the order to compute them.

A partial derivative is a field and a multi-index (how many times it is differentiated in each problem variable).
Every needed partial is computed exactly once, by slicing one column from the gradient of its *parent* (the partial
with one order less). One backward pass (``torch.autograd.grad(parent, X, ones, create_graph=True)``) gives the
gradient of a parent with respect to all input columns at once, so the cost of a point set is the number of distinct
parents: its *passes*. When a needed partial has no needed parent, the planner adds the shortest chain of
intermediate partials, preferring parents that are already needed and parents that serve several children.

Derivatives are named by key, Modulus-style: ``u__x__x__t`` is the third derivative of ``u``, twice in ``x`` and once
in ``t`` (variables in the problem's order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import sympy
from sympy.core.function import AppliedUndef

from pdec.core.errors import PdecCompileError
from pdec.core.source import Span
from pdec.language.problem import Auxiliary, frozen

Index = tuple[int, ...]


@dataclass(frozen=True, order=True)
class Partial:
    """One partial derivative of a field: ``index[i]`` counts differentiations in variable ``i``."""

    field: str
    index: Index
    name: str

    @property
    def order(self) -> int:
        """Total differentiation order (0 for the field itself)."""
        return sum(self.index)


@dataclass(frozen=True)
class Step:
    """One backward pass: the gradient of ``parent`` w.r.t. all inputs, sliced into ``children``.

    ``children`` holds ``(column, partial)`` pairs: ``partial`` is column ``column`` of the gradient.
    """

    parent: Partial
    children: tuple[tuple[int, Partial], ...]


@dataclass(frozen=True)
class SetPlan:
    """The derivatives of one point set: the fields read from the network, then the backward passes in order."""

    point_set: str
    roots: tuple[Partial, ...]
    steps: tuple[Step, ...]
    needed: frozenset[Partial]

    @property
    def passes(self) -> int:
        """Backward passes per evaluation of this point set."""
        return len(self.steps)

    @property
    def partials(self) -> tuple[Partial, ...]:
        """Every partial computed (roots, then children in computation order)."""
        return self.roots + tuple(p for s in self.steps for _, p in s.children)

    @property
    def carried(self) -> tuple[Index, ...]:
        """The multi-indices the forward mode carries through the layers: every nonzero one below a needed one.

        Faa di Bruno's formula for a partial uses every partial below it; the hidden layers do not know about fields,
        so the fields share them. Ordered by total order.
        """
        found = {b for p in self.needed for b in _below(p.index) if any(b)}
        return tuple(sorted(found, key=order_key))


@dataclass(frozen=True)
class Plan:
    """The derivative plan of a problem: one SetPlan per point set (printable), and the lowering chosen."""

    variables: tuple[str, ...]
    sets: Mapping[str, SetPlan]
    lowering: str = "autograd"
    every_set: bool = False  # forward mode for the one-pass sets too (pdec.compiler.driver.jacobian_lowering)

    @property
    def passes(self) -> int:
        """Backward passes per evaluation of every point set."""
        return sum(s.passes for s in self.sets.values())

    def forward(self, point_set: str) -> bool:
        """Whether the forward mode computes this point set's partials (on pdec's networks).

        Under ``lowering = forward``, every point set that needs two or more backward passes. A set that needs one
        (a single field's first partials) keeps it: one reverse pass gives every first partial at once, where the
        forward mode would carry one stream per variable through every layer (1.12 x slower on advection), unless
        one of the ``hosts`` can carry its partials too (``joins``): one stacked call then serves both (DeepXDE's
        ode_system: four one-point conditions on y1_t or y2_t ride on the equations' jet). With ``every_set``, every
        set with a partial takes the forward mode: no backward pass is left for ``torch.func`` to refuse.
        """
        own = self.sets[point_set]
        if self.lowering != "forward" or not own.passes:
            return False
        return own.passes > 1 or self.every_set or any(joins(own, host) for host in self.hosts)

    @property
    def hosts(self) -> tuple[SetPlan, ...]:
        """The sets whose jets serve the others (the grouping pdec.compiler.codegen's ``jet_groups`` makes).

        Of the sets needing two or more passes, most partials carried first, each that no earlier host can serve.
        """
        found: list[SetPlan] = []
        for set_plan in sorted(self.sets.values(), key=lambda p: -len(p.carried)):
            if set_plan.passes > 1 and not any(joins(set_plan, host) for host in found):
                found.append(set_plan)
        return tuple(found)

    @property
    def any_forward(self) -> bool:
        """Whether some point set takes the forward mode."""
        return any(self.forward(name) for name in self.sets)

    def __str__(self) -> str:
        return format_set_plans(self)


def joins(member: SetPlan, host: SetPlan) -> bool:
    """Whether ``host``'s forward mode can serve ``member`` in one stacked call (codegen's ``stacked_jets``).

    The host carries every partial the member needs, and at most twice as many: on its rows the stacked call does
    at most twice the member's own work, and it saves a pass through the layers (and one backward) of its own.
    """
    return set(member.carried) <= set(host.carried) and len(host.carried) <= 2 * len(member.carried)


def order_key(index: Index) -> tuple:
    """Sort key of multi-indices: by total order, then the earlier variables first."""
    return (sum(index), tuple(-n for n in index))


def _below(index: Index) -> Iterator[Index]:
    """Every multi-index ``b <= index`` (componentwise), ``index`` included."""
    if not index:
        yield ()
        return
    for rest in _below(index[1:]):
        for n in range(index[0] + 1):
            yield (n, *rest)


def partial_name(field: str, index: Index, variables: tuple[str, ...]) -> str:
    """Return the key of a partial, e.g. ``u__x__x__t`` (``u`` for the field itself)."""
    return field + "".join(f"__{v}" * n for v, n in zip(variables, index, strict=True))


def partial(field: str, index: Index, variables: tuple[str, ...]) -> Partial:
    """Build the Partial of ``field`` with multi-index ``index``."""
    return Partial(field, tuple(index), partial_name(field, index, variables))


def expand_derivatives(expr: sympy.Expr) -> sympy.Expr:
    """Expand derivatives of compound expressions (``d(u*v, x)``) into derivatives of fields."""
    compound = [d for d in expr.atoms(sympy.Derivative) if not isinstance(d.expr, AppliedUndef)]
    if not compound:
        return expr
    return expand_derivatives(expr.xreplace({d: d.doit() for d in compound}))


def field_partials(
    expr: sympy.Expr, variables: tuple[str, ...], span: Span | None = None, fields: set[str] | None = None
) -> dict[sympy.Expr, Partial]:
    """Map every field and field derivative in ``expr`` to its Partial (coefficients, unknown functions are not).

    Args:
        expr: a residual with compound derivatives already expanded.
        variables: the problem's variable names, in input column order.
        span: the term's span, for errors.
        fields: the field names (None: any undefined function is a field).

    Raises:
        PdecCompileError: an unknown function, or a field applied to something other than its variables.
    """
    column = {name: i for i, name in enumerate(variables)}
    found: dict[sympy.Expr, Partial] = {}
    for d in expr.atoms(sympy.Derivative):
        if isinstance(d.expr, Auxiliary):
            continue
        index = [0] * len(variables)
        for var, count in d.variable_count:
            if var.name not in column:
                raise PdecCompileError(f"derivative with respect to '{var}', which is not a variable", span)
            index[column[var.name]] += int(count)
        found[d] = partial(_field_of(d.expr, column, span, fields), tuple(index), variables)
    for f in expr.atoms(AppliedUndef):
        if isinstance(f, Auxiliary):
            continue
        found[f] = partial(_field_of(f, column, span, fields), (0,) * len(variables), variables)
    return found


def _field_of(applied: sympy.Expr, column: Mapping[str, int], span: Span | None, fields: set[str] | None) -> str:
    """Return the field name of ``u(x, t)``; refuse unknown functions and fields applied to anything but variables."""
    name = applied.func.__name__
    if fields is not None and name not in fields:
        raise PdecCompileError(
            f"cannot compile the function '{name}': it is neither a field nor a known function", span
        )
    if not all(isinstance(a, sympy.Symbol) and a.name in column for a in applied.args):
        raise PdecCompileError(
            f"field applied to {applied.args}: only fields of the problem's variables can be compiled",
            span,
            "evaluate fields at fixed values through a condition's face instead",
        )
    return name


def plan_set(point_set: str, needed: Iterable[Partial], fields: tuple[str, ...], variables: tuple[str, ...]) -> SetPlan:
    """Plan the derivatives of one point set: each needed partial once, from a parent of one order less."""
    needed = frozenset(needed)
    steps: list[Step] = []
    roots = []
    for f in fields:
        indices = {p.index for p in needed if p.field == f}
        if not indices:
            continue
        parents = _choose_parents(indices, len(variables))
        roots.append(partial(f, (0,) * len(variables), variables))
        for parent_index in sorted(parents, key=lambda i: (sum(i), tuple(-n for n in i))):
            children = sorted(parents[parent_index])
            steps.append(
                Step(
                    partial(f, parent_index, variables),
                    tuple((c, partial(f, _bump(parent_index, c), variables)) for c in children),
                )
            )
    steps.sort(key=lambda s: s.parent.order)  # stable: field order kept within an order
    return SetPlan(point_set, tuple(roots), tuple(steps), needed)


def _bump(index: Index, column: int, by: int = 1) -> Index:
    """Return ``index`` with one more (or ``by`` more) differentiation in ``column``."""
    return tuple(n + by if i == column else n for i, n in enumerate(index))


def _choose_parents(indices: set[Index], dims: int) -> dict[Index, set[int]]:
    """Choose, level by level from the highest order down, the parents that produce every required index.

    Greedy set cover on each level: a parent that is already required costs one pass, a new intermediate costs
    (at least) two; among equals, the one serving the most children wins. Returns parent index -> columns.
    """
    required = set(indices) | {(0,) * dims}
    parents: dict[Index, set[int]] = {}
    top = max(sum(i) for i in required)
    for level in range(top, 0, -1):
        uncovered = {i for i in required if sum(i) == level}
        while uncovered:
            offers: dict[Index, set[int]] = {}
            for child in uncovered:
                for col in range(dims):
                    if child[col]:
                        offers.setdefault(_bump(child, col, -1), set()).add(col)
            best = max(offers, key=lambda p: (len(offers[p]) / (1 if p in required else 2), p in required, p))
            parents.setdefault(best, set()).update(offers[best])
            uncovered -= {_bump(best, c) for c in offers[best]}
            required.add(best)
    return parents


def build_plan(
    variables: tuple[str, ...],
    fields: tuple[str, ...],
    needs: Mapping[str, Iterable[Partial]],
    lowering: str = "autograd",
    every_set: bool = False,
) -> Plan:
    """Plan every point set: ``needs`` maps a point-set name to the partials its terms use."""
    sets = frozen({name: plan_set(name, ps, fields, variables) for name, ps in needs.items()})
    return Plan(tuple(variables), sets, lowering, every_set)


FORWARD_HEADER = (
    "lowering: forward (pdec's networks: the partials carried through their layers, no backward pass; "
    "other networks: the backward passes below)"
)


def format_set_plans(plan: Plan) -> str:
    """Render a plan: per point set, each derivative with its parent, and the backward passes per evaluation."""
    if plan.any_forward:
        header = FORWARD_HEADER
    elif plan.lowering == "forward" and plan.passes:
        header = "lowering: forward, but no point set needs more than the one backward pass it takes"
    else:
        header = "lowering: autograd (nested backward passes)"
    lines = [header]
    for name, sp in plan.sets.items():
        lines.append(f"{name}: {sp.passes} backward pass{'es' if sp.passes != 1 else ''}")
        if plan.forward(name):
            carried = ", ".join(partial_name("", i, plan.variables).lstrip("_") for i in sp.carried)
            lines.append(f"  forward mode: {len(sp.carried)} partials through each layer ({carried})")
        elif plan.lowering == "forward" and sp.passes == 1:
            lines.append("  one backward pass gives every first partial: cheaper than the forward mode here")
        for root in sp.roots:
            lines.append(f"  {root.name:<20} network output")
        for step in sp.steps:
            for _, child in step.children:
                mark = "" if child in sp.needed else "   (intermediate)"
                lines.append(f"  {child.name:<20} from {step.parent.name}{mark}")
    lines.append(f"total: {plan.passes} backward passes per evaluation")
    return "\n".join(lines)


def format_plan(compiled) -> str:
    """Return the printable derivative plan of a compiled problem (what ``pdec plan FILE`` shows)."""
    return format_set_plans(compiled.plan)
