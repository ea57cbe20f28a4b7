"""The compiler: Problem -> CompiledProblem, one generated torch function per point set.

``compile`` reads as the pipeline it runs::

    spec --frontend.load--> Problem --collect--> terms, point sets, residuals per point set
         --derivatives.build_plan--> Plan --generate--> source (a standalone module: imports torch only)
         --exec--> functions --> CompiledProblem

The generated module is exactly what ``pdec emit`` writes (``emit(compiled)``); pdec runs the same text, registered
in ``linecache`` so tracebacks show the generated lines.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import importlib
import linecache
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, NamedTuple

import numpy as np
import sympy
import torch
from torch import nn

from pdec.derivatives import Plan, SetPlan, build_plan, expand_derivatives, field_partials, format_plan
from pdec.errors import PdecCompileError
from pdec.lower import identifier, lower
from pdec.problem import Periodic, Problem, Unknown, frozen, symbol
from pdec.source import Span

INTERIOR = "interior"

__all__ = ["CompiledProblem", "Observations", "PointSet", "Term", "Unknowns", "compile", "emit", "format_plan"]


# ---------------------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------------------


class Observations(NamedTuple):
    """Fixed points ``[N, d]`` and observed values ``[N, k]`` of a data set (CPU tensors in the problem's dtype)."""

    points: torch.Tensor
    targets: torch.Tensor


@dataclass(frozen=True)
class PointSet:
    """Where residuals are evaluated.

    ``region`` is ``{}`` for the interior box (and for data sets), ``{var: value}`` for a face; ``terms`` are the
    term names evaluated there; ``data`` holds the fixed points and targets of a data set (None otherwise).
    """

    name: str
    region: Mapping[str, float]
    terms: tuple[str, ...]
    data: Observations | None = None


@dataclass(frozen=True)
class Term:
    """One loss term: its residual expressions (one column each) and the point sets whose rows it spans."""

    name: str
    kind: str  # "pde", "ic", "bc", "periodic" or "data"
    point_sets: tuple[str, ...]
    exprs: tuple[sympy.Expr, ...]
    span: Span | None = None

    @property
    def columns(self) -> int:
        """Columns of the residual."""
        return len(self.exprs)


@dataclass(frozen=True)
class _Site:
    """What one generated function evaluates: per term, its expressions (and how to finish the residual)."""

    point_set: str
    terms: tuple[tuple[str, tuple[sympy.Expr, ...], Span | None], ...]
    region: Mapping[str, float] = dataclasses.field(default_factory=dict)
    periodic: tuple[int, float] | None = None  # (column, hi) of a periodic condition
    data: bool = False


# ---------------------------------------------------------------------------------------------------------------------
# Unknowns
# ---------------------------------------------------------------------------------------------------------------------


def _softplus_inverse(y: float) -> float:
    """Return ``r`` with ``softplus(r) == y`` (to round-off) for ``y > 0``."""
    return y if y > 20 else y + math.log(-math.expm1(-y))


class Unknowns(nn.Module):
    """The unknown parameters of an inverse problem, constrained by smooth reparameterisation.

    Each unknown has one raw parameter ``raw[name]``; its value is ``raw`` (free), ``lo + softplus(raw)`` (lower
    bound; ``positive`` means ``lo = 0``), ``hi - softplus(raw)`` (upper bound) or ``lo + (hi - lo) * sigmoid(raw)``
    (both). The raw parameter starts where the value equals ``init``. ``lr[name]`` is its own learning rate or None.
    """

    def __init__(self, unknowns: tuple[Unknown, ...] = (), dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.specs = {u.name: u for u in unknowns}
        self.bounds = {u.name: _bounds(u) for u in unknowns}
        self.lr = {u.name: u.lr for u in unknowns}
        self.raw = nn.ParameterDict(
            {u.name: nn.Parameter(torch.tensor(self._raw_init(u), dtype=dtype)) for u in unknowns}
        )

    def _raw_init(self, u: Unknown) -> float:
        """The raw value whose constrained value is ``u.init``."""
        lo, hi = self.bounds[u.name]
        inside = (lo is None or u.init > lo) and (hi is None or u.init < hi)
        if not inside:
            raise PdecCompileError(
                f"unknown '{u.name}' starts at {u.init}, not strictly inside its bounds [{lo}, {hi}]",
                u.span,
                "give an initial value inside the bounds",
            )
        if lo is not None and hi is not None:
            p = (u.init - lo) / (hi - lo)
            return math.log(p) - math.log1p(-p)
        if lo is not None:
            return _softplus_inverse(u.init - lo)
        if hi is not None:
            return _softplus_inverse(hi - u.init)
        return float(u.init)

    def value(self, name: str) -> torch.Tensor:
        """The constrained value of one unknown (a 0-d tensor in the graph of its raw parameter)."""
        raw = self.raw[name]
        lo, hi = self.bounds[name]
        if lo is not None and hi is not None:
            return lo + (hi - lo) * torch.sigmoid(raw)
        if lo is not None:
            return lo + nn.functional.softplus(raw)
        if hi is not None:
            return hi - nn.functional.softplus(raw)
        return raw

    def values(self) -> dict[str, torch.Tensor]:
        """Name -> constrained value (0-d tensors, differentiable)."""
        return {name: self.value(name) for name in self.raw}

    def floats(self) -> dict[str, float]:
        """Name -> constrained value as a Python float."""
        with torch.no_grad():
            return {name: float(v) for name, v in self.values().items()}

    def forward(self) -> dict[str, torch.Tensor]:
        """Same as ``values()``."""
        return self.values()

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups: one per unknown, with its own ``lr`` or the default ``lr``."""
        return [{"params": [p], "lr": self.lr[n] if self.lr[n] is not None else lr} for n, p in self.raw.items()]


def _bounds(u: Unknown) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds of an unknown, ``positive`` meaning a lower bound of 0."""
    lo = u.lower
    if u.positive:
        lo = 0.0 if lo is None else max(lo, 0.0)
    return (None if lo is None else float(lo)), (None if u.upper is None else float(u.upper))


# ---------------------------------------------------------------------------------------------------------------------
# The compiled problem
# ---------------------------------------------------------------------------------------------------------------------


class CompiledProblem:
    """A problem compiled to torch: residual functions per point set, the unknowns, the plan and the source.

    See docs/architecture.md ("The compiled problem") for the contract.
    """

    def __init__(
        self,
        problem: Problem,
        point_sets: Mapping[str, PointSet],
        terms: Mapping[str, Term],
        plan: Plan,
        source: str,
        namespace: Mapping[str, Any],
    ) -> None:
        self.problem = problem
        self.variables = tuple(v.name for v in problem.variables)
        self.fields = tuple(f.name for f in problem.fields)
        self.bounds = {v.name: (float(v.lo), float(v.hi)) for v in problem.variables}
        self.point_sets = frozen(point_sets)
        self.terms = frozen(terms)
        self.plan = plan
        self.source = source
        self.functions = frozen(namespace["FUNCTIONS"])
        self.dtype = getattr(torch, problem.settings.dtype)
        self.unknowns = Unknowns(problem.unknowns, self.dtype)
        self._residuals = namespace["residuals"]
        self._exact = namespace["exact"]
        if problem.settings.compile:
            needs_grad = frozenset(name for name, sp in plan.sets.items() if sp.steps)
            self._residuals = compile_step(self._residuals, needs_grad)

    def evaluate(
        self,
        net: Callable[[torch.Tensor], torch.Tensor],
        points: Mapping[str, torch.Tensor],
        targets: Mapping[str, torch.Tensor] | None = None,
        theta: Mapping[str, Any] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Return ``{term name: residual [N_k, r_k]}`` for every term whose point sets appear in ``points``.

        Args:
            net: maps points ``[N, d]`` (physical coordinates, columns ``self.variables``) to ``[N, len(fields)]``.
            points: point-set name -> points ``[N, d]``; absent point sets are skipped.
            targets: data point-set name -> observed values ``[N, k]``; defaults to ``PointSet.data.targets``.
            theta: unknown name -> value (tensor or float); defaults to ``self.unknowns.values()``.
        """
        unknown = [name for name in points if name not in self.point_sets]
        if unknown:
            raise KeyError(f"unknown point sets {unknown}; this problem has {list(self.point_sets)}")
        theta = self.unknowns.values() if theta is None else theta
        wanted = {}
        for name, x in points.items():
            data = self.point_sets[name].data
            if data is not None:
                given = None if targets is None else targets.get(name)
                wanted[name] = data.targets.to(x.device, x.dtype) if given is None else given
        return self._residuals(net, points, theta, wanted)

    def exact(self, x: torch.Tensor) -> torch.Tensor | None:
        """The exact solution ``[N, len(fields)]`` at ``x`` (NaN columns for fields without one), or None."""
        return None if self._exact is None else self._exact(x)

    def train(self, **overrides: Any) -> Any:
        """Train this problem (see ``pdec.train.train``).

        The trainer is a later stage: it is looked up by name when called, so the compiler never imports it.
        """
        return importlib.import_module("pdec.train").train(self, **overrides)

    def __repr__(self) -> str:
        return (
            f"CompiledProblem(variables={self.variables}, fields={self.fields}, terms={list(self.terms)}, "
            f"passes={self.plan.passes})"
        )


def compile_step(fn: Callable, needs_grad: frozenset[str]) -> Callable:
    """Wrap ``residuals`` in ``torch.compile``, tracing through its nested ``torch.autograd.grad`` calls.

    Points of the point sets in ``needs_grad`` are marked ``requires_grad`` before entering the compiled region
    (dynamo refuses a ``requires_grad_()`` inside it).
    """
    import torch._dynamo

    torch._dynamo.config.trace_autograd_ops = True
    compiled = torch.compile(fn, dynamic=False)

    def residuals(net, points, theta, targets=None):
        points = {k: x.detach().requires_grad_(True) if k in needs_grad else x for k, x in points.items()}
        return compiled(net, points, theta, targets)

    return residuals


# ---------------------------------------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------------------------------------


def compile(spec: Any, **overrides: Any) -> CompiledProblem:  # shadows the builtin on purpose: pdec.compile
    """Compile a problem to torch residual functions.

    Args:
        spec: a Problem, or spec text, a path, or a file object (read by ``pdec.frontend.load``).
        **overrides: training settings replacing the spec's (``layers=[32, 32]``, ``dtype="float64"``, ...).

    Returns:
        The CompiledProblem (see docs/architecture.md).
    """
    problem = as_problem(spec)  # spec -> Problem
    if overrides:
        problem = dataclasses.replace(problem, settings=problem.settings.replace(**overrides))
    check_range(problem)  # intervals the dtype cannot hold: a located error
    terms, sites = collect(problem)  # Problem -> Terms, one _Site per point set
    needs = {s.point_set: _site_partials(s, problem) for s in sites}
    plan = build_plan(tuple(v.name for v in problem.variables), tuple(f.name for f in problem.fields), needs)
    check_work(plan, sites)  # a plan too costly to train: a located error
    source = generate(problem, terms, sites, plan)  # -> module source (torch only)
    namespace = load_source(source, problem.source.path)  # -> functions
    return CompiledProblem(problem, point_sets(problem, sites), terms, plan, source, namespace)


def check_range(problem: Problem) -> None:
    """Refuse intervals and unknowns the problem's floating-point type cannot hold (``[0, 1e39]``, ``[0, 1e-320]``)."""
    dtype = getattr(torch, problem.settings.dtype)
    info = torch.finfo(dtype)
    for v in problem.variables:
        lo, hi = (float(torch.tensor(end, dtype=torch.float64).to(dtype)) for end in (v.lo, v.hi))
        if max(abs(v.lo), abs(v.hi)) > info.max or not hi - lo >= info.tiny:
            what = f"largest {info.max:.3g}" if max(abs(v.lo), abs(v.hi)) > info.max else "its ends round together"
            raise PdecCompileError(
                f"the interval of '{v.name}' does not fit in {problem.settings.dtype} ({what})",
                v.span,
                "rescale the variable, or train in float64",
            )
    for u in problem.unknowns:
        if any(abs(value) > info.max for value in (u.init, u.lower, u.upper) if value is not None):
            raise PdecCompileError(
                f"the initial value or bounds of unknown '{u.name}' do not fit in {problem.settings.dtype}",
                u.span,
                "rescale the unknown, or train in float64",
            )


MAX_WORK = 4**8  # backward-pass work per point set: a pass from a parent of order k costs about 4**k


def check_work(plan: Plan, sites: list[_Site]) -> None:
    """Refuse a derivative plan whose backward passes would take seconds per step (PdecCompileError at its term)."""
    for site in sites:
        work = sum(4**step.parent.order for step in plan.sets[site.point_set].steps)
        if work > MAX_WORK:
            raise PdecCompileError(
                f"the derivatives on {site.point_set} need too much work ({plan.sets[site.point_set].passes} "
                f"backward passes, some from derivatives of high order)",
                site.terms[0][2],
                "lower the derivative orders; `pdec plan` lists the passes",
            )


def as_problem(spec: Any) -> Problem:
    """Return ``spec`` if it is a Problem, else load it with the front end (text, path or file object)."""
    if isinstance(spec, Problem):
        return spec
    from pdec.frontend import load

    if hasattr(spec, "read"):
        spec = spec.read()
    return load(spec)


def collect(problem: Problem) -> tuple[dict[str, Term], list[_Site]]:
    """Gather every term's residual expressions and the point set each is evaluated on, in spec order."""
    terms: dict[str, Term] = {}
    sites: list[_Site] = []
    names = iter(problem.term_names())
    equations = []
    for eq in problem.equations:
        name = next(names)
        terms[name] = Term(name, "pde", (INTERIOR,), (eq.residual,), eq.span)
        equations.append((name, (eq.residual,), eq.span))
    if equations:
        sites.append(_Site(INTERIOR, tuple(equations)))
    for cond in problem.conditions:
        name = next(names)
        if isinstance(cond, Periodic):
            var = problem.variable(cond.variable)
            where = f"{name}@{var.name}={var.lo:g}"
            terms[name] = Term(name, "periodic", (where,), tuple(cond.exprs), cond.span)
            column = [v.name for v in problem.variables].index(var.name)
            sites.append(
                _Site(
                    where, ((name, tuple(cond.exprs), cond.span),), {var.name: float(var.lo)}, (column, float(var.hi))
                )
            )
            continue
        wheres = []
        for piece in cond.pieces:
            where = f"{name}@{piece.face.variable}={piece.face.value:g}"
            wheres.append(where)
            region = {piece.face.variable: float(piece.face.value)}
            sites.append(_Site(where, ((name, (piece.residual,), cond.span),), region))
        terms[name] = Term(name, cond.kind, tuple(wheres), (cond.lhs - cond.rhs,), cond.span)
    for data in problem.data:
        name = next(names)
        exprs = tuple(problem.field(f).applied for f in data.fields)
        terms[name] = Term(name, "data", (name,), exprs, data.span)
        sites.append(_Site(name, ((name, exprs, data.span),), data=True))
    return terms, sites


def point_sets(problem: Problem, sites: list[_Site]) -> dict[str, PointSet]:
    """Describe each site as a PointSet: its region (a face, or the box) and, for a data set, its observations."""
    dtype = getattr(torch, problem.settings.dtype)
    data = {f"data:{d.name}": d for d in problem.data}
    out = {}
    for site in sites:
        names = tuple(t for t, _, _ in site.terms)
        obs = None
        if site.data:
            d = data[site.point_set]
            obs = Observations(
                torch.as_tensor(np.asarray(d.points, dtype=float), dtype=dtype),
                torch.as_tensor(np.asarray(d.values, dtype=float), dtype=dtype).reshape(len(d.points), -1),
            )
        out[site.point_set] = PointSet(site.point_set, frozen(site.region), names, obs)
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Code generation
# ---------------------------------------------------------------------------------------------------------------------


def _prepare(expr: sympy.Expr, problem: Problem, span: Span | None) -> tuple[sympy.Expr, dict]:
    """Expand compound derivatives, fold constants, and replace each field partial by a symbol named by its key."""
    expr = expand_derivatives(sympy.sympify(expr))
    expr = expr.xreplace({symbol(c.name): sympy.Float(c.value) for c in problem.constants})
    found = field_partials(expr, tuple(v.name for v in problem.variables), span, {f.name for f in problem.fields})
    return expr.xreplace({atom: sympy.Symbol(p.name) for atom, p in found.items()}), found


def _site_partials(site: _Site, problem: Problem) -> set:
    """Every partial a site's expressions use."""
    return {p for _, exprs, span in site.terms for e in exprs for p in _prepare(e, problem, span)[1].values()}


HEADER = '''"""Residuals of the spec named in SPEC, generated by pdec. Standalone: needs torch only.

residuals(net, points, theta, targets) -> {{term name: residual [N, r]}}
    net: any callable mapping points [N, {d}] (columns {variables}) to fields [N, {m}] (columns {fields});
    points: {{point-set name: tensor [N, {d}]}} (point sets: see FUNCTIONS); theta: {{unknown: tensor or float}};
    targets: {{data point-set name: observed values [N, k]}}.
"""

import torch

SPEC = {spec!r}
VARIABLES = {variables!r}
FIELDS = {fields!r}
TERMS = {{
{terms}}}


def grad(y, X, ones):
    """The gradient of y [N, 1] w.r.t. every column of X [N, d] (one backward pass, kept for higher orders)."""
    if not y.requires_grad:
        return torch.zeros_like(X)
    return torch.autograd.grad(y, X, ones, create_graph=True, allow_unused=True, materialize_grads=True)[0]
'''

FOOTER = '''
def shared_outputs(net, points):
    """One network call for every point set in SHARED (no derivatives): {point set: a stand-in net giving its rows}."""
    names = [name for name in SHARED if name in points]
    if len(names) < 2:
        return {}
    rows = net(torch.cat([points[name] for name in names])).split([points[name].shape[0] for name in names])
    return {name: (lambda X, out=out: out) for name, out in zip(names, rows)}


def residuals(net, points, theta, targets=None):
    """{term name: residual [N, r]} for the terms whose point sets are in points (pieces stacked by rows)."""
    nets = shared_outputs(net, points)
    parts = {}
    for name, function in FUNCTIONS.items():
        if name in points:
            if name in DATA:
                found = function(nets.get(name, net), points[name], theta, targets[name])
            else:
                found = function(nets.get(name, net), points[name], theta)
            for term, residual in found.items():
                parts.setdefault(term, []).append(residual)
    return {term: torch.cat(parts[term]) if len(parts[term]) > 1 else parts[term][0] for term in TERMS if term in parts}
'''


def generate(problem: Problem, terms: Mapping[str, Term], sites: list[_Site], plan: Plan) -> str:
    """Return the source of the standalone module: one function per point set, ``exact`` and ``residuals``."""
    variables = tuple(v.name for v in problem.variables)
    fields = tuple(f.name for f in problem.fields)
    chunks = [
        HEADER.format(
            spec=spec_name(problem.source.path),
            d=len(variables),
            m=len(fields),
            variables=variables,
            fields=fields,
            terms="".join(f"    {name!r}: {t.point_sets!r},\n" for name, t in terms.items()),
        )
    ]
    functions = {}
    for site in sites:
        fname = _function_name(site.point_set, functions)
        functions[site.point_set] = fname
        chunks.append(_site_function(fname, site, problem, plan.sets[site.point_set]))
    chunks.append(_exact_function(problem))
    table = "".join(f"    {name!r}: {fname},\n" for name, fname in functions.items())
    data = tuple(s.point_set for s in sites if s.data)
    # A periodic site evaluates its own points and their images at the hi end: it cannot take a stand-in net.
    shared = tuple(s.point_set for s in sites if not plan.sets[s.point_set].steps and s.periodic is None)
    chunks.append(f"FUNCTIONS = {{\n{table}}}\nDATA = {data!r}\nSHARED = {shared!r}  # evaluated in one network call")
    chunks.append(FOOTER)
    return "\n\n\n".join(chunk.strip("\n") for chunk in chunks) + "\n"


def _function_name(point_set: str, taken: Mapping[str, str]) -> str:
    """A readable, unique Python name for a point set's function (``bc:left@x=-1`` -> ``bc_left_x_m1``)."""
    text = point_set.replace("@", "_").replace("=", "_").replace(":", "_").replace("-", "m").replace(".", "p")
    name = identifier(text)
    while name in taken.values():
        name += "_"
    return name


def spec_name(path: str) -> str:
    """The spec's file name (no folders) for the generated module; ``<string>`` for text."""
    return path if path.startswith("<") else PurePath(path).name


def docstring_text(text: str) -> str:
    """``text`` with every character but letters, digits, spaces and ``_:@=.,+-`` replaced by ``?``.

    Generated docstrings quote term and point-set names; this keeps any quote or backslash out of them.
    """
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in " _:@=.,+-") else "?" for ch in text)


def gradient_name(parent: str) -> str:
    """The temporary holding the gradient of ``parent``.

    Every temporary of the generated code starts with ``_`` (``_out``, ``_ones``, ``_n``, ``_g_u__x``, ``_r0``,
    ``_c0``); no name derived from the spec does (names start with a letter), so the two can never collide.
    """
    return f"_g_{parent}"


def _symbol_names(problem: Problem) -> dict[sympy.Symbol, str]:
    """Variables and unknowns -> the Python names holding them."""
    names = {symbol(v.name): identifier(v.name) for v in problem.variables}
    names.update({symbol(u.name): identifier(u.name) for u in problem.unknowns})
    return names


def _site_function(fname: str, site: _Site, problem: Problem, set_plan: SetPlan) -> str:
    """Source of one point set's function: inputs, network, derivatives per the plan, unknowns, residuals."""
    args = "net, X, theta, targets" if site.data else "net, X, theta"
    terms = ", ".join(t for t, _, _ in site.terms)
    lines = [f"def {fname}({args}):", f'    """{docstring_text(terms)} on {docstring_text(site.point_set)}."""']
    lines += _derivative_lines(set_plan, problem, site.periodic)
    body, outputs = _residual_lines(site, problem, set_plan)
    lines += body
    if site.periodic is not None:  # rows [:n] at the lo end, [n:] at the hi end
        for i, (term, src) in enumerate(list(outputs.items())):
            lines.append(f"    _r{i} = {src}")
            outputs[term] = f"_r{i}[:_n] - _r{i}[_n:]"
    if site.data:
        outputs = {t: f"{src} - targets" for t, src in outputs.items()}
    if len(outputs) == 1:
        lines.append("    return {" + "".join(f"{t!r}: {src}" for t, src in outputs.items()) + "}")
    else:
        lines += ["    return {", *(f"        {t!r}: {src}," for t, src in outputs.items()), "    }"]
    return "\n" + "\n".join(lines)


def _derivative_lines(set_plan: SetPlan, problem: Problem, periodic: tuple[int, float] | None) -> list[str]:
    """Lines computing the network output and every derivative of the plan, one backward pass per parent.

    Points that do not require grad yet are detached and marked (``torch.compile`` wants that done outside).
    A periodic condition evaluates its lo end and its hi end in one batch: rows ``[:n]`` and ``[n:]``.
    """
    fields = [f.name for f in problem.fields]
    lines = []
    pad = "    "
    if set_plan.steps:
        lines += [
            "    if not X.requires_grad:",
            "        X = X.detach().requires_grad_(True)",
            "    with torch.enable_grad():",
        ]
        pad = "        "
    if periodic is not None:
        col, hi = periodic
        parts = [f"X[:, :{col}]"] if col else []
        parts.append(f"torch.full_like(X[:, :1], {hi!r})")
        parts += [f"X[:, {col + 1}:]"] if col + 1 < len(problem.variables) else []
        ends = f"{pad}X = torch.cat([X, torch.cat([{', '.join(parts)}], 1)])  # lo, hi ends"
        lines += [f"{pad}_n = X.shape[0]", ends]
    if set_plan.steps:
        lines.append(pad + "_ones = torch.ones_like(X[:, :1])")
    lines.append(pad + "_out = net(X)")
    for root in set_plan.roots:
        col = fields.index(root.field)
        lines.append(f"{pad}{identifier(root.name)} = _out[:, {col}:{col + 1}]")
    for step in set_plan.steps:
        parent = identifier(step.parent.name)
        lines.append(f"{pad}{gradient_name(parent)} = grad({parent}, X, _ones)")
        for col, child in step.children:
            lines.append(f"{pad}{identifier(child.name)} = {gradient_name(parent)}[:, {col}:{col + 1}]")
    return lines


def _residual_lines(site: _Site, problem: Problem, set_plan: SetPlan) -> tuple[list[str], dict[str, str]]:
    """Lines binding used variables and unknowns, the shared sub-expressions, and each term's residual source."""
    names = _symbol_names(problem)
    names.update({sympy.Symbol(p.name): identifier(p.name) for p in set_plan.partials})
    exprs, spans, owners = [], [], []
    for term, term_exprs, span in site.terms:
        for e in term_exprs:
            exprs.append(_prepare(e, problem, span)[0])
            spans.append(span)
            owners.append(term)
    cse_lines, sources = lower(exprs, names, spans)
    used = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    lines = _binding_lines(problem, used)
    per_point = {s for s in names if s not in {symbol(u.name) for u in problem.unknowns}}
    outputs: dict[str, list[str]] = {}
    for e, src, term in zip(exprs, sources, owners, strict=True):
        if not (e.free_symbols & per_point):
            src = f"({src}) + torch.zeros_like(X[:, :1])"
        outputs.setdefault(term, []).append(src)
    joined = {
        t: (srcs[0] if len(srcs) == 1 else "torch.cat([" + ", ".join(srcs) + "], 1)") for t, srcs in outputs.items()
    }
    return lines + cse_lines, joined


def _binding_lines(problem: Problem, used: set) -> list[str]:
    """Bind the variables (input columns) and unknowns (from theta) an expression list uses."""
    lines = []
    for i, v in enumerate(problem.variables):
        if symbol(v.name) in used:
            lines.append(f"    {identifier(v.name)} = X[:, {i}:{i + 1}]")
    for u in problem.unknowns:
        if symbol(u.name) in used:
            lines.append(
                f"    {identifier(u.name)} = torch.as_tensor(theta[{u.name!r}], dtype=X.dtype, device=X.device)"
            )
    return lines


def _exact_function(problem: Problem) -> str:
    """Source of ``exact(X)`` from the problem's exact-solution expressions (``exact = None`` without them)."""
    if not problem.exact:
        return "\nexact = None"
    names = _symbol_names(problem)
    exprs, fields = [], []
    for f in problem.fields:
        if f.name in problem.exact:
            expr = sympy.sympify(problem.exact[f.name])
            exprs.append(expr.xreplace({symbol(c.name): sympy.Float(c.value) for c in problem.constants}))
            fields.append(f.name)
    cse_lines, sources = lower(exprs, names, [None] * len(exprs))
    used = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    columns = []
    for f in problem.fields:
        if f.name in fields:
            src = sources[fields.index(f.name)]
            columns.append(
                f"({src}) + torch.zeros_like(X[:, :1])" if not (exprs[fields.index(f.name)].free_symbols) else src
            )
        else:
            columns.append('torch.full_like(X[:, :1], float("nan"))')
    body = _binding_lines(problem, used) + cse_lines
    lines = ["def exact(X):", '    """The exact solution [N, len(FIELDS)] (NaN for fields without one)."""']
    lines += body + ["    return torch.cat([" + ", ".join(columns) + "], 1)"]
    return "\n" + "\n".join(lines)


def load_source(source: str, path: str) -> dict[str, Any]:
    """Execute generated source, registered in ``linecache`` so tracebacks show its lines; return its namespace."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    filename = f"<pdec-generated {path} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {"__name__": "pdec_generated"}
    exec(builtins.compile(source, filename, "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


def emit(compiled: CompiledProblem) -> str:
    """Return the standalone module (imports torch only) reproducing pdec's residuals: what ``pdec emit`` writes."""
    return compiled.source
