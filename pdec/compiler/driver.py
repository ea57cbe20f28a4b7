"""The compiler: Problem -> CompiledProblem, one generated torch function per point set.

``compile`` reads as the pipeline it runs::

    spec --frontend.load--> Problem --terms.collect--> Terms, one Site per point set
         --codegen.prepare--> Prepared (each expression once) --derivatives.build_plan--> Plan
         --codegen.generate--> source (a standalone module: imports torch only) --exec--> functions
         --> CompiledProblem (the typed contract the trainer reads)

The generated module is exactly what ``pdec emit`` writes (``emit(compiled)``); pdec runs the same text, registered
in ``linecache`` so tracebacks show the generated lines.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import torch

from pdec.compiler.codegen import generate, load_source, prepare
from pdec.compiler.constraints import Constraints, constraints_of, without_exact
from pdec.compiler.derivatives import Plan, build_plan, format_plan
from pdec.compiler.terms import INTERIOR, Observations, PointSet, Readings, Site, Term, collect, point_sets, readings
from pdec.compiler.unknowns import Unknowns
from pdec.core.errors import PdecCompileError
from pdec.language.problem import Problem, frozen
from pdec.language.scaling import scaled

__all__ = [
    "INTERIOR",
    "CompiledProblem",
    "Observations",
    "PointSet",
    "Readings",
    "Term",
    "Unknowns",
    "compile",
    "emit",
    "format_plan",
]


class CompiledProblem:
    """A problem compiled to torch: the typed contract between the compiler and the trainer.

    Attributes:
        variables: the input column names.
        fields: the output column names.
        bounds: ``{variable: (lo, hi)}``; a ``log`` parameter's is a pdec.core.intervals.LogInterval.
        domain: the spatial domain (a pdec.geometry.Domain) when the spec declares one; None: the box of ``bounds``.
        time: the name of the time variable (None without one).
        parameters: the names of the parameters (``param nu in [lo, hi]``): the last input columns, never places.
        terms: ``{name: Term}`` in spec order.
        point_sets: ``{name: PointSet}``.
        unknowns: the unknowns module (``.specs`` holds the declared records: init, bounds, true values; an unknown
            function's network is ``.functions[name]``).
        truths: unknown function -> its ``true`` expression as a torch function of its variables' columns.
        settings: the resolved settings (overrides applied).
        options: the compile-time part of the settings.
        spec: the spec's Source (text and path).
        reference: reference Readings for the errors, or None.
        exact_fields: the fields with an ``exact:`` expression.
        constraints: the conditions imposed by construction (pdec.compiler.constraints; empty unless marked ``exact``).
        plan: the derivative plan.
        source: the generated module's source.
        functions: the generated module's functions.
        problem: the symbolic Problem it came from (for display and tools; the trainer does not read it).
        scaling: the scales of a spec with units trained non-dimensionalised (pdec.language.problem.Scaling): the
            variables, fields, points, data and exact solutions above are the scaled ones; None otherwise.

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
        constraints: Constraints | None = None,
    ) -> None:
        self.problem = problem
        self.constraints = Constraints() if constraints is None else constraints
        self.settings = problem.settings
        self.options = problem.settings.compile_settings
        self.spec = problem.source
        self.variables = tuple(v.name for v in problem.variables)
        self.fields = tuple(f.name for f in problem.fields)
        self.bounds = {v.name: v.interval for v in problem.variables}  # a `log` parameter's: a LogInterval
        self.time = None if problem.time is None else problem.time.name
        self.parameters = tuple(v.name for v in problem.parameters)
        self.domain = problem.domain  # pdec.geometry.Domain: where the points lie; None: the box of ``bounds``
        self.point_sets = frozen(point_sets)
        self.terms = frozen(terms)
        self.reference = None if problem.reference is None else readings(problem.reference, problem)
        self.exact_fields = tuple(f for f in self.fields if f in (problem.exact or {}))
        self.scaling = problem.scaling  # None, or the scales of a non-dimensionalised spec (pdec.language.scaling)
        self.plan = plan
        self.source = source
        self.functions = frozen(namespace["FUNCTIONS"])
        self.dtype = self.options.torch_dtype
        functions = (problem.functions, self.bounds, self.settings.function_layers, self.settings.seed)
        self.unknowns = Unknowns(problem.unknowns, self.dtype, *functions)
        self.truths = frozen(namespace.get("TRUTHS", {}))  # unknown function -> its true values at its columns
        self._residuals = namespace["residuals"]
        self._exact = namespace["exact"]
        if self.options.compile:
            needs_grad = frozenset(name for name, sp in plan.sets.items() if sp.steps)
            self._residuals = compile_step(self._residuals, needs_grad)
        self._frozen = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(
                f"a CompiledProblem is frozen after compilation: build a new one with .replace({name}=...)"
            )
        super().__setattr__(name, value)

    def replace(self, **changes: Any) -> CompiledProblem:
        """A copy with some attributes replaced (``settings``, ``unknowns``, ...); this one stays as it is."""
        unknown = [k for k in changes if k.startswith("_") or k not in vars(self)]
        if unknown:
            raise TypeError(f"CompiledProblem has no attribute {', '.join(unknown)} to replace")
        new = copy.copy(self)
        for name, value in changes.items():
            object.__setattr__(new, name, value)
        return new

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
            theta: unknown name -> value (tensor or float; an unknown function's: a callable mapping its variables'
                columns ``[N, k]`` to ``[N, 1]``, its network); defaults to ``self.unknowns.values()``.
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

    def train(self, **options: Any) -> NoReturn:
        """Removed: the compiler is a stage below the trainer and does not know it. Call ``pdec.fit(compiled, ...)``."""
        raise AttributeError(
            "CompiledProblem.train was removed (the compiler does not know the trainer): "
            "call pdec.fit(compiled, **options) instead"
        )

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
        spec: a Problem, or spec text, a path, or a file object (read by ``pdec.language.frontend.load``).
        **overrides: training settings replacing the spec's (``layers=[32, 32]``, ``dtype="float64"``, ...).

    Returns:
        The CompiledProblem (see docs/architecture.md).
    """
    problem = as_problem(spec)  # spec -> Problem
    if overrides:
        from pdec.language.symbolic import settle  # settings that change the problem (exact conditions, time windows)

        problem = settle(dataclasses.replace(problem, settings=problem.settings.replace(**overrides)))
    problem = scaled(problem)  # a spec with units: its variables and fields on scales of order one (`scale`)
    check_range(problem)  # intervals the dtype cannot hold: a located error
    return lower(problem)


def lower(problem: Problem, every_set: bool = False) -> CompiledProblem:
    """The settled (and scaled) Problem -> its CompiledProblem: terms, derivative plan, generated code.

    ``every_set``: the forward mode for every point set with a partial (:func:`jacobian_lowering`).
    """
    constraints = constraints_of(problem)  # Problem -> Constraints (the conditions marked `exact`)
    terms, sites = collect(without_exact(problem))  # Problem -> {name: Term}, [Site] (one per point set)
    prepared = {s.point_set: prepare(s, problem) for s in sites}  # -> {point set: Prepared}
    needs = {name: p.partials for name, p in prepared.items()}
    lowering = problem.settings.compile_settings.lowering
    variables, fields = tuple(v.name for v in problem.variables), tuple(f.name for f in problem.fields)
    plan = build_plan(variables, fields, needs, lowering, every_set)
    check_work(plan, sites)  # a plan too costly to train: a located error
    source = generate(problem, terms, sites, prepared, plan)  # -> module source (torch only)
    namespace = load_source(source, problem.source.path)  # -> functions
    dtype = problem.settings.compile_settings.torch_dtype
    return CompiledProblem(problem, point_sets(problem, sites, dtype), terms, plan, source, namespace, constraints)


def jacobian_lowering(compiled: CompiledProblem) -> CompiledProblem:
    """The problem lowered for Levenberg-Marquardt's per-point Jacobian, whose ``torch.func`` cannot transform a
    backward pass: under ``lowering = forward``, a point set that needs only first partials of one field keeps the
    one backward pass that gives them all (cheaper for Adam and the quasi-Newton methods); here it takes the forward
    mode too. The same residuals to round-off; ``compiled`` itself when no set changes (or under ``autograd``), and
    when its terms or point sets are no longer its problem's (a copy changed by ``replace``): LM then falls back."""  # noqa: D205, D209
    plan = compiled.plan
    if plan.lowering != "forward" or plan.every_set or all(plan.forward(s) for s in plan.sets if plan.sets[s].passes):
        return compiled
    lowered = lower(compiled.problem, every_set=True)
    same = lowered.terms.keys() == compiled.terms.keys() and lowered.point_sets.keys() == compiled.point_sets.keys()
    return lowered if same else compiled


def check_range(problem: Problem) -> None:
    """Refuse intervals and unknowns the problem's floating-point type cannot hold (``[0, 1e39]``, ``[0, 1e-320]``)."""
    dtype = problem.settings.compile_settings.torch_dtype
    info, name = torch.finfo(dtype), str(dtype).removeprefix("torch.")  # dtype auto: Adam's float32 first
    for v in problem.variables:
        lo, hi = (float(torch.tensor(end, dtype=torch.float64).to(dtype)) for end in (v.lo, v.hi))
        if max(abs(v.lo), abs(v.hi)) > info.max or not hi - lo >= info.tiny:
            what = f"largest {info.max:.3g}" if max(abs(v.lo), abs(v.hi)) > info.max else "its ends round together"
            raise PdecCompileError(
                f"the interval of '{v.name}' does not fit in {name} ({what})",
                v.span,
                "rescale the variable, or train in float64",
            )
    for u in (*problem.unknowns, *problem.functions):
        if any(abs(value) > info.max for value in (u.init, u.lower, u.upper) if value is not None):
            raise PdecCompileError(
                f"the initial value or bounds of unknown '{u.name}' do not fit in {name}",
                u.span,
                "rescale the unknown, or train in float64",
            )


MAX_WORK = 4**8  # backward-pass work per point set: a pass from a parent of order k costs about 4**k


def check_work(plan: Plan, sites: list[Site]) -> None:
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
    """Return ``spec`` if it is a Problem, else load it with the front end (text, path or file object).

    A file object goes to the front end unread, so the spec keeps its file's name (relative data paths resolve
    against the file's folder).
    """
    if isinstance(spec, Problem):
        return spec
    from pdec.language.frontend import load

    return load(spec)


def emit(compiled: CompiledProblem) -> str:
    """Return the standalone module (imports torch only) reproducing pdec's residuals: what ``pdec emit`` writes."""
    return compiled.source
