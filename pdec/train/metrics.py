"""Metrics: a trained network -> relative errors, the final metrics (metrics.json), plots and the Result record.

The functions read the run's records (pdec.train.state: :class:`Setup`, :class:`TrainState`) and what the trainer
measured (losses, errors); none reaches into the trainer. :class:`FinalMetrics` is the one record of a run's final
metrics, built by :func:`final_metrics` and completed by :meth:`FinalMetrics.judged` at the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import CompiledProblem
from pdec.compiler.unknowns import Unknowns
from pdec.core.intervals import spread
from pdec.run.functions import FunctionTable, LearnedFunction, plot_table, tabulate
from pdec.run.intervals import Intervals
from pdec.run.results import PLOTS, Result, Solution, plot_domain, plot_run, plot_solution
from pdec.train.console import main_process
from pdec.train.distributed import Shards
from pdec.train.sampling import eval_points
from pdec.train.state import Points, Setup, TrainState


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
    compiled: CompiledProblem, bounds: Mapping[str, tuple[float, float]], n: int, tensor: Callable[[Any], torch.Tensor]
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


@dataclasses.dataclass
class FinalMetrics:
    """A run's final metrics: what metrics.json holds (its keys are these attributes' names, sorted).

    Attributes:
        steps, adam_steps, second_steps: the steps done, of them Adam's, and the second phase's iterations.
        kept_step: the step whose parameters the run returns, when not its last (pdec.train.best).
        optimizer: the second phase's optimiser (the setting's when the run did not reach it).
        loss, losses, weights: the weighted total and each term's loss (a fresh evaluation), and the weights.
        errors: each field's relative L2 error; unknowns, unknown_errors: the unknowns and their relative errors.
        wall_time, rollbacks, lr_scale, device, dtype, torch_threads: how the run went and where.
        heldout_losses: each equation's loss at fresh points (None: not measured, as in an interrupted run).
        warnings: the diagnoses at the end (None: not judged, as in an interrupted run).
    """

    steps: int
    adam_steps: int
    kept_step: int | None
    second_steps: int
    optimizer: str
    loss: float
    losses: dict[str, float]
    weights: dict[str, float]
    errors: dict[str, float]
    unknowns: dict[str, float]
    unknown_errors: dict[str, float]
    wall_time: float
    rollbacks: int
    lr_scale: float
    device: str
    dtype: str
    torch_threads: int
    heldout_losses: dict[str, float] | None = None
    warnings: list[str] | None = None

    def judged(self, heldout_losses: Mapping[str, float], warnings: list[str]) -> FinalMetrics:
        """These metrics with the end's held-out losses and warnings."""
        return dataclasses.replace(self, heldout_losses=dict(heldout_losses), warnings=list(warnings))

    def to_dict(self) -> dict[str, Any]:
        """The metrics as metrics.json and ``Result.metrics`` hold them (what was not measured left out)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in out.items() if v is not None or k not in ("heldout_losses", "warnings")}


def final_metrics(
    setup: Setup, state: TrainState, losses: Mapping[str, float], errors: Mapping[str, float]
) -> FinalMetrics:
    """The final metrics from the trainer's fresh ``losses`` (over every rank's points) and evaluation ``errors``."""
    unknowns = state.unknowns.floats()
    truth = {name: u.true for name, u in state.unknowns.specs.items() if u.true is not None}
    unknown_errors = {k: abs(unknowns[k] - t) / (abs(t) if t else 1.0) for k, t in truth.items() if k in unknowns}
    tables = function_tables(state.unknowns, setup.compiled)  # an unknown function's error: relative L2 on a grid
    unknown_errors.update({k: t.relative_error for k, t in tables.items() if t.true is not None})
    w, settings, step = state.balancer.weights, setup.settings, state.step
    return FinalMetrics(
        steps=step,
        adam_steps=min(step, settings.adam),
        kept_step=state.best.returned,
        second_steps=max(0, step - settings.adam),
        optimizer=state.phase if state.phase != "adam" else settings.optimizer,
        loss=sum(w[k] * v for k, v in losses.items()),
        losses=dict(losses),
        weights=dict(w),
        errors=dict(errors),
        unknowns=unknowns,
        unknown_errors=unknown_errors,
        wall_time=state.elapsed,
        rollbacks=state.rollbacks,
        lr_scale=state.lr_scale,
        device=str(setup.device),
        dtype=settings.dtype,
        torch_threads=torch.get_num_threads(),
    )


def learned_functions(unknowns: Unknowns) -> dict[str, LearnedFunction]:
    """The run's unknown functions as callables of their variables (``Result.functions``)."""
    return {name: LearnedFunction(name, unknowns.specs[name].args, net) for name, net in unknowns.functions.items()}


def function_tables(unknowns: Unknowns, compiled: CompiledProblem) -> dict[str, FunctionTable]:
    """Each unknown function on the grid of its variables, beside its ``true`` expression when the spec gives one."""
    functions = learned_functions(unknowns)
    return {
        name: tabulate(f, [compiled.bounds[a] for a in f.args], compiled.truths.get(name))
        for name, f in functions.items()
    }


def heldout_losses(
    evaluate: Callable[[Points], Mapping[str, torch.Tensor]],
    equations: Mapping[str, tuple[str, ...]],
    training: Points,
    fresh: Points,
    shards: Shards,
) -> dict[str, tuple[float, float, int]]:
    """Each equation's plain loss ``mean(residual ** 2)`` at its training points and at a held-out draw.

    ``evaluate`` gives the residuals at points; ``equations`` maps each equation to its point sets; ``fresh`` is the
    held-out draw (:meth:`pdec.train.sampling.Sampler.heldout`: as many points as the sampler's plan, a seed no
    training round uses), evaluated whole on every rank, so it needs no reduction. Returns ``{term: (training, held
    out, held-out points)}``. An equation that holds at its points and not between them has fitted the points, not
    the equation.
    """
    with torch.enable_grad():
        residuals = evaluate(training)
        train = shards.values({t: shards.mean_square(residuals[t], sets) for t, sets in equations.items()})
        residuals = evaluate(fresh)
        held = {t: float(residuals[t].detach().pow(2).mean()) for t in equations}
    count = {t: sum(len(fresh[n]) for n in sets) for t, sets in equations.items()}
    return {t: (train[t], held[t], count[t]) for t in equations}


def plot(
    setup: Setup,
    state: TrainState,
    evaluation: Evaluation | None,
    predict: Callable[[np.ndarray], np.ndarray],
    draw: Callable[[int], Mapping[str, np.ndarray]],
) -> None:
    """Loss and weight histories; the solution against the evaluation set when there is one; the domain and its points
    (``draw(0)``: the first round's) when the spec declares one (rank 0 only)."""  # noqa: D205, D209
    if not main_process():
        return
    compiled, run_dir = setup.compiled, setup.run_dir
    solution = None
    if evaluation is not None:
        e = evaluation
        predicted = predict(e.points)[:, e.columns]
        solution = Solution(tuple(compiled.variables), e.fields, e.points, predicted, e.values)
    truth = {name: u.true for name, u in state.unknowns.specs.items()}
    domain = compiled.domain
    if solution is not None and domain is not None and len(domain.variables) == len(solution.variables) == 2:
        solution = dataclasses.replace(solution, inside=domain.contains)  # no colour over the holes
    plot_run(run_dir, state.history, solution, truth)
    for label, picture in parameter_slices(compiled, predict, setup.settings.eval_points):
        plot_solution(run_dir / PLOTS / f"solution_{label}.png", picture)
    for name, table in function_tables(state.unknowns, compiled).items():
        plot_table(run_dir / PLOTS / f"function_{name}.png", table)
    if domain is not None and len(domain.variables) <= 2:
        columns = [compiled.variables.index(v) for v in domain.variables]
        points = {name: p[:, columns] for name, p in draw(0).items()}
        plot_domain(run_dir / PLOTS / "domain.png", domain, points)


# where a parametric run's solution is drawn: each parameter at these fractions of its range (of its logarithm's range,
# for a `log` one)
SLICES = (0.0, 0.5, 1.0)


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
        values = {p: float(spread(compiled.bounds[p], np.array(fraction))) for p in names}  # a `log` one: in log(p)
        points = np.stack([base[:, j] if j is not None else np.full(len(base), values[v])
                           for v, j in zip(compiled.variables, columns, strict=True)], axis=1)
        predicted = predict(points)
        with torch.no_grad():
            exact = compiled.exact(torch.as_tensor(points, dtype=torch.float64))
        reference = np.full_like(predicted, np.nan) if exact is None else exact.cpu().double().numpy()
        label = ",".join(f"{p}={v:.4g}" for p, v in values.items())
        out.append((label, Solution(tuple(others), tuple(compiled.fields), base, predicted, reference)))
    return out


def result(
    setup: Setup, state: TrainState, metrics: Mapping[str, Any], intervals: Intervals | None, interrupted: bool = False
) -> Result:
    """The Result record of the run (``metrics``: :meth:`FinalMetrics.to_dict`)."""
    c = setup.compiled
    return Result(
        state.net,
        tuple(c.variables),
        tuple(c.fields),
        state.unknowns.floats(),
        state.history,
        dict(metrics),
        setup.run_dir,
        setup.settings,
        interrupted,
        intervals=intervals,
        functions=learned_functions(state.unknowns),
        parameters={name: c.bounds[name] for name in getattr(c, "parameters", ())},
    )


def where_not_finite(
    compiled: CompiledProblem, terms: list[str], points: Points | None, residuals: Mapping[str, torch.Tensor] | None
) -> str:
    """The terms, each with the first point where its residual (at ``points``: the last drawn) is NaN/Inf."""
    if points is None or residuals is None:
        return ", ".join(terms)
    return "; ".join(_first_bad_row(compiled, t, residuals.get(t), points) for t in terms)


def _first_bad_row(
    compiled: CompiledProblem, term: str, residual: torch.Tensor | None, points: Points
) -> str:
    """``term (not finite at x = 0, t = 0.5; 3 of 200 rows)``, naming the first point of a NaN/Inf residual row."""
    if residual is None:
        return term
    bad = (~torch.isfinite(residual.detach())).any(1).nonzero()
    if not len(bad):
        return f"{term} (its residual is finite when evaluated again; its mean square may have overflowed)"
    rows = torch.cat([points[p] for p in compiled.terms[term].point_sets if p in points])
    variables = compiled.variables
    at = ", ".join(f"{v} = {float(c):.4g}" for v, c in zip(variables, rows[int(bad[0])], strict=True))
    return f"{term} (not finite at {at}; {len(bad)} of {len(residual)} rows)"
