"""Metrics: a trained network -> relative errors, final metrics, plots and the Result record.

Every function but :class:`Evaluation` and :func:`evaluation_set` takes the run's :class:`pdec.train.trainer.Trainer`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from pdec.run.functions import FunctionTable, LearnedFunction, plot_table, tabulate
from pdec.run.results import PLOTS, Result, Solution, plot_domain, plot_run, plot_solution
from pdec.train.console import main_process
from pdec.train.sampling import eval_points


class Evaluation:
    """A fixed evaluation set: points ``[N, d]`` and reference values per field (relative L2 errors)."""

    def __init__(self, points: np.ndarray, values: np.ndarray, fields: tuple[str, ...], columns: list[int]) -> None:
        self.points = points
        self.values = values
        self.fields = fields
        self.columns = columns

    def errors(self, predict: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
        """``{field: ||pred - ref|| / ||ref||}`` over the evaluation set."""
        predicted = predict(self.points)
        out = {}
        for j, (name, col) in enumerate(zip(self.fields, self.columns, strict=True)):
            ref = self.values[:, j]
            norm = float(np.linalg.norm(ref))
            out[name] = float(np.linalg.norm(predicted[:, col] - ref)) / (norm if norm > 0 else 1.0)
        return out


def evaluation_set(
    compiled: Any, bounds: Mapping[str, tuple[float, float]], n: int, tensor: Callable[[Any], torch.Tensor]
) -> Evaluation | None:
    """The evaluation set: the problem's reference data, else ``n`` Sobol points with the ``exact`` solution.

    ``tensor`` moves an array to the run's device and dtype. None when there is nothing to compare with.
    """
    fields = tuple(compiled.fields)
    reference = compiled.reference
    if reference is not None:
        columns = [fields.index(f) for f in reference.fields]
        return Evaluation(reference.points, reference.values, tuple(reference.fields), columns)
    points = eval_points(bounds, n, getattr(compiled, "domain", None))
    with torch.no_grad():
        exact = compiled.exact(tensor(points).double())  # the truth in float64, whatever the run trains in
    if exact is None:
        return None
    exact = exact.detach().cpu().double().numpy()
    known = [j for j in range(exact.shape[1]) if np.isfinite(exact[:, j]).all()]
    if not known:
        return None
    return Evaluation(points, exact[:, known], tuple(fields[j] for j in known), known)


def final_metrics(trainer: Any) -> dict[str, Any]:
    """Final losses (fresh evaluation), errors, unknowns (and their errors against ``true``), timings."""
    with torch.enable_grad():
        found = trainer.losses(trainer.points(trainer.step or 1, trainer.terms), trainer.terms)
        losses = trainer.shards.values(found)  # over every rank's points
    errors = trainer.evaluation.errors(trainer.predict) if trainer.evaluation is not None else {}
    unknowns = trainer.unknowns.floats()
    truth = {name: u.true for name, u in trainer.unknowns.specs.items() if u.true is not None}
    unknown_errors = {k: abs(unknowns[k] - t) / (abs(t) if t else 1.0) for k, t in truth.items() if k in unknowns}
    tables = function_tables(trainer)  # an unknown function's error: relative L2 on the grid of its variables
    unknown_errors.update({k: t.relative_error for k, t in tables.items() if t.true is not None})
    w = trainer.balancer.weights
    settings = trainer.settings
    return {
        "steps": trainer.step,
        "adam_steps": min(trainer.step, settings.adam),
        "kept_step": trainer.best.returned,  # the step whose parameters the run returns, when not its last
        "second_steps": max(0, trainer.step - settings.adam),
        "optimizer": trainer.phase if trainer.phase != "adam" else settings.optimizer,
        "loss": sum(w[k] * v for k, v in losses.items()),
        "losses": losses,
        "weights": dict(w),
        "errors": errors,
        "unknowns": unknowns,
        "unknown_errors": unknown_errors,
        "wall_time": trainer.elapsed,
        "rollbacks": trainer.rollbacks,
        "lr_scale": trainer.lr_scale,
        "device": str(trainer.device),
        "dtype": settings.dtype,
        "torch_threads": torch.get_num_threads(),
    }


def learned_functions(trainer: Any) -> dict[str, LearnedFunction]:
    """The run's unknown functions as callables of their variables (``Result.functions``)."""
    nets = trainer.unknowns.functions
    return {name: LearnedFunction(name, trainer.unknowns.specs[name].args, net) for name, net in nets.items()}


def function_tables(trainer: Any) -> dict[str, FunctionTable]:
    """Each unknown function on the grid of its variables, beside its ``true`` expression when the spec gives one."""
    functions = learned_functions(trainer)
    compiled = trainer.compiled if functions else None
    return {
        name: tabulate(f, [compiled.bounds[a] for a in f.args], getattr(compiled, "truths", {}).get(name))
        for name, f in functions.items()
    }


def heldout_losses(trainer: Any) -> dict[str, tuple[float, float, int]]:
    """Each equation's plain loss ``mean(residual ** 2)`` at its training points and at a held-out draw.

    Returns ``{term: (training, held out, held-out points)}``. The held-out draw
    (:meth:`pdec.train.sampling.Sampler.heldout`: as many points as the sampler's plan, a seed no training round uses)
    is evaluated whole on every rank, so it needs no reduction. An equation that holds at its points and not between
    them has fitted the points, not the equation.
    """
    equations = [t for t in trainer.terms if t.startswith("pde:")]
    names = {n for t in equations for n in trainer.sets_of[t]}
    heldout = getattr(trainer.sampler, "heldout", None)
    if not equations or heldout is None:
        return {}
    training = {n: x for n, x in trainer.points(trainer.step or 1, trainer.terms).items() if n in names}
    fresh = {n: trainer.tensor(x) for n, x in heldout(names).items()}
    if set(fresh) != set(training):
        return {}
    unknowns = trainer.unknowns.values()
    with torch.enable_grad():
        residuals = trainer.compiled.evaluate(trainer.model, training, {}, unknowns)
        train = {t: trainer.shards.mean_square(residuals[t], trainer.sets_of[t]) for t in equations}
        train = trainer.shards.values(train)
        residuals = trainer.compiled.evaluate(trainer.model, fresh, {}, unknowns)
        held = {t: float(residuals[t].detach().pow(2).mean()) for t in equations}
    count = {t: sum(len(fresh[n]) for n in trainer.sets_of[t]) for t in equations}
    return {t: (train[t], held[t], count[t]) for t in equations}


def plot(trainer: Any) -> None:
    """Loss and weight histories; the solution against the evaluation set when there is one; the domain and its points
    when the spec declares one (rank 0 only)."""  # noqa: D205, D209
    if not main_process():
        return
    solution = None
    if trainer.evaluation is not None:
        e = trainer.evaluation
        predicted = trainer.predict(e.points)[:, e.columns]
        solution = Solution(tuple(trainer.compiled.variables), e.fields, e.points, predicted, e.values)
    truth = {name: u.true for name, u in trainer.unknowns.specs.items()}
    domain = trainer.compiled.domain
    if solution is not None and domain is not None and len(domain.variables) == len(solution.variables) == 2:
        solution = dataclasses.replace(solution, inside=domain.contains)  # no colour over the holes
    plot_run(trainer.run_dir, trainer.history, solution, truth)
    for label, picture in parameter_slices(trainer.compiled, trainer.predict, trainer.settings.eval_points):
        plot_solution(trainer.run_dir / PLOTS / f"solution_{label}.png", picture)
    for name, table in function_tables(trainer).items():
        plot_table(trainer.run_dir / PLOTS / f"function_{name}.png", table)
    if domain is not None and len(domain.variables) <= 2:
        columns = [trainer.compiled.variables.index(v) for v in domain.variables]
        points = {name: p[:, columns] for name, p in trainer.sampler.draw(0).items()}
        plot_domain(trainer.run_dir / PLOTS / "domain.png", domain, points)


SLICES = (0.0, 0.5, 1.0)  # where a parametric run's solution is drawn: each parameter at these fractions of its range


def parameter_slices(
    compiled: Any, predict: Callable[[np.ndarray], np.ndarray], n: int
) -> list[tuple[str, Solution]]:
    """A parametric run's solution at the ends and the middle of its parameters' ranges (``nu=0.005``), against the
    exact solution when the spec gives one; only where the other variables are one or two (a line or a map)."""  # noqa: D205, D209
    names = getattr(compiled, "parameters", ())
    others = {v: b for v, b in compiled.bounds.items() if v not in names}
    if not names or not 1 <= len(others) <= 2:
        return []
    base = eval_points(others, min(n, 4096), getattr(compiled, "domain", None))
    columns = [list(others).index(v) if v in others else None for v in compiled.variables]
    out = []
    for fraction in SLICES:
        values = {p: compiled.bounds[p][0] + fraction * (compiled.bounds[p][1] - compiled.bounds[p][0]) for p in names}
        points = np.stack([base[:, j] if j is not None else np.full(len(base), values[v])
                           for v, j in zip(compiled.variables, columns, strict=True)], axis=1)
        predicted = predict(points)
        with torch.no_grad():
            exact = compiled.exact(torch.as_tensor(points, dtype=torch.float64))
        reference = np.full_like(predicted, np.nan) if exact is None else exact.cpu().double().numpy()
        label = ",".join(f"{p}={v:.4g}" for p, v in values.items())
        out.append((label, Solution(tuple(others), tuple(compiled.fields), base, predicted, reference)))
    return out


def result(trainer: Any, metrics: dict[str, Any], interrupted: bool = False) -> Result:
    """The Result record of the run."""
    c = trainer.compiled
    return Result(
        trainer.net,
        tuple(c.variables),
        tuple(c.fields),
        trainer.unknowns.floats(),
        trainer.history,
        metrics,
        trainer.run_dir,
        trainer.settings,
        interrupted,
        intervals=getattr(trainer, "intervals", None),
        functions=learned_functions(trainer),
        parameters={name: c.bounds[name] for name in getattr(c, "parameters", ())},
    )


def where_not_finite(trainer: Any, terms: list[str]) -> str:
    """The terms, each with the first point where its residual is NaN/Inf at the current parameters."""
    points = trainer.cached_points()
    if points is None:
        return ", ".join(terms)
    residuals = trainer.compiled.evaluate(trainer.net, points, trainer.targets_for(points), trainer.unknowns.values())
    return "; ".join(_first_bad_row(trainer, t, residuals.get(t), points) for t in terms)


def _first_bad_row(trainer: Any, term: str, residual: torch.Tensor | None, points: Mapping[str, torch.Tensor]) -> str:
    """``term (not finite at x = 0, t = 0.5; 3 of 200 rows)``, naming the first point of a NaN/Inf residual row."""
    if residual is None:
        return term
    bad = (~torch.isfinite(residual.detach())).any(1).nonzero()
    if not len(bad):
        return f"{term} (its residual is finite when evaluated again; its mean square may have overflowed)"
    rows = torch.cat([points[p] for p in trainer.term[term].point_sets if p in points])
    variables = trainer.compiled.variables
    at = ", ".join(f"{v} = {float(c):.4g}" for v, c in zip(variables, rows[int(bad[0])], strict=True))
    return f"{term} (not finite at {at}; {len(bad)} of {len(residual)} rows)"
