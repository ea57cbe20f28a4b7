"""Inverse problems: synthetic observations, the frozen-network fit, identifiability and the unknowns report.

The functions of a run read its records (pdec.train.state: :class:`Setup`, :class:`TrainState`, :class:`Objective`
for the losses) and return what they found (:class:`Identifiability`); none reaches into the trainer.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import CompiledProblem
from pdec.compiler.unknowns import Unknowns
from pdec.core.errors import PdecRunError
from pdec.language.problem import Kind
from pdec.run.functions import FUNCTIONS, write_table
from pdec.run.intervals import NETWORK, POINTS, Intervals, describe, estimate, linearise
from pdec.run.results import UNKNOWNS, write_json
from pdec.train.console import main_process, say
from pdec.train.metrics import function_tables
from pdec.train.sampling import region_points
from pdec.train.state import Objective, Points, Setup, TrainState

WEAK = 1e-6  # sensitivity, relative to the strongest unknown's (or the residual), below which an unknown is weak
TIED = 1e-6  # singular value (relative to the largest) of the unit-normalised sensitivities below which unknowns tie
ILL_CONDITIONED = 1e3  # condition number of the unit-normalised sensitivities above which the unknowns are reported


def sample_exact(
    compiled: CompiledProblem, n: int, *, noise: float = 0.0, seed: int = 0, sampler: str = "sobol"
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Draw ``n`` observations of the exact solution inside the domain, with optional relative Gaussian noise.

    Args:
        compiled: a CompiledProblem whose spec has an ``exact:`` statement.
        n: number of points.
        noise: relative noise level (``u + noise * std(u) * randn``, the convention of Raissi et al.).
        seed: seed of both the points and the noise.
        sampler: point sampler (see pdec.train.sampling).

    Returns:
        points ``[n, d]``, values ``[n, k]`` and the names of the k fields that have an exact solution.
    """
    exact = compiled.exact_fields
    if not exact:
        raise PdecRunError(
            f"{compiled.spec.path} has no exact solution to sample",
            hint="add an `exact: u = ...` statement, or observe real data",
        )
    if n < 1 or not noise >= 0 or not math.isfinite(noise):  # NaN fails every comparison
        raise PdecRunError(f"need n >= 1 and noise >= 0, got n = {n}, noise = {noise}")
    points = region_points(n, compiled.bounds, {}, sampler, seed, getattr(compiled, "domain", None))
    with torch.no_grad():
        full = compiled.exact(torch.as_tensor(points, dtype=torch.float64)).cpu().double().numpy()
    columns = [i for i, f in enumerate(compiled.fields) if f in exact]
    values = full[:, columns]
    if noise:
        rng = np.random.default_rng(seed + 1)
        values = values + noise * values.std(axis=0) * rng.standard_normal(values.shape)
    return points, values, tuple(compiled.fields[i] for i in columns)


def write_csv(path: str | Path, names: Sequence[str], *columns: np.ndarray) -> None:
    """Write arrays side by side as a CSV file with a header row of ``names``."""
    table = np.column_stack(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([f"{v:.17g}" for v in row] for row in table)


def sensitivities(
    compiled: CompiledProblem,
    net: Callable[[torch.Tensor], torch.Tensor],
    points: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, np.ndarray]:
    """Return each unknown's sensitivity vector: d(physics residuals)/d(unknown), scaled by the unknown's size.

    Central differences in the (constrained) value of each unknown, in float64 (on a float64 copy of ``net``); only
    the terms on ``points`` that are not data terms count. The scale is ``|value|`` (1 for an unknown at 0), so each
    vector is the change of the residuals under a 100% change of the unknown, whatever the unknown's units. The
    columns of :func:`pdec.run.intervals.linearise`, the computation the confidence intervals share.
    """
    return linearise(compiled, net, points, targets).sensitivities()


@dataclass
class Conditioning:
    """How well the data determine the unknowns: the SVD of their unit-normalised sensitivity columns.

    Attributes:
        names: the unknowns in the matrix (those that are not weak).
        condition_number: ``sigma_max / sigma_min`` (1 for a single unknown; inf for an exact tie).
        directions: the poorly determined directions, ``(sigma_i / sigma_max, {name: relative change})`` for each
            singular value below ``sigma_max / ILL_CONDITIONED``, the largest change +1.
    """

    names: tuple[str, ...]
    condition_number: float
    directions: list[tuple[float, dict[str, float]]] = field(default_factory=list)


def conditioning(vectors: Mapping[str, np.ndarray], threshold: float = ILL_CONDITIONED) -> Conditioning:
    """The condition number of the unknowns' sensitivities and the directions determined ``threshold`` times worse.

    The columns are the sensitivity vectors normalised to unit length (column scaling: the number does not depend on
    the units of the unknowns or of the residual, nor on the size of the residual). A direction whose singular value
    is ``sigma_i`` changes the residuals ``sigma_max / sigma_i`` times less than the best-determined one, so noise in
    the data moves the unknowns along it that many times more; each is mapped back to relative changes of the
    unknowns (the largest +1).
    """
    names = tuple(vectors)
    if len(names) < 2:
        return Conditioning(names, 1.0)
    norms = np.array([np.linalg.norm(vectors[k]) for k in names])
    matrix = np.column_stack([vectors[k] / n for k, n in zip(names, norms, strict=True)])
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    found = Conditioning(names, float(singular[0] / singular[-1]) if singular[-1] > 0 else math.inf)
    for value, v in zip(singular, vt, strict=True):
        if value < singular[0] / threshold:
            change = v / norms  # back from unit columns to relative changes of each unknown
            change = change / change[np.abs(change).argmax()]  # the largest change is +100%
            moves = {k: float(c) for k, c in zip(names, change, strict=True) if abs(c) > 1e-3}
            found.directions.append((float(value / singular[0]), moves))
    return found


def weak_unknowns(sensitivity: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The unknowns whose 100% change barely moves the residuals: ``{name: relative sensitivity}`` below ``WEAK``.

    Each sensitivity vector (the residuals' change under a 100% change of the unknown, :func:`sensitivities`) is
    compared with the strongest unknown's, or with the residual itself when that is larger (a single unknown, or a
    network far from fitting): the test depends neither on the units of the unknowns nor, with several unknowns, on
    how small the residual has become.
    """
    rms = {k: math.sqrt(float(np.mean(np.asarray(v, dtype=np.float64) ** 2))) for k, v in sensitivity.items()}
    reference = max(rms.values()) + 1e-300
    return {k: v / reference for k, v in rms.items() if k != "<residual>" and v < WEAK * reference}


def identifiability(sensitivity: Mapping[str, np.ndarray]) -> list[str]:
    """The warnings of :func:`assess`: weak unknowns, ties and poorly determined combinations."""
    return assess(sensitivity)[0]


def assess(sensitivity: Mapping[str, np.ndarray]) -> tuple[list[str], Conditioning]:
    """Warnings for unknowns that barely move the residuals, and for combinations of unknowns the data do not fix.

    Weak unknowns: :func:`weak_unknowns`. The others' sensitivity vectors are normalised to unit length; the
    singular value decomposition of the matrix of these columns (:func:`conditioning`) shows the directions in which
    the unknowns can move together while changing the residuals little. A singular value below ``TIED`` (relative
    to the largest) is a tie: a direction that leaves the residuals unchanged. One below ``1 / ILL_CONDITIONED`` is
    poorly determined: the warning gives the condition number. Each is reported as relative changes of the unknowns
    (``a +100%, b -50%``). Pairwise comparisons miss ties of three or more (``a u_xx + b u_x + c (u_xx + u_x)``),
    the SVD does not. Give it float64 sensitivities: float32 finite differences do not resolve 1e-6.

    Returns:
        the warnings, and the :class:`Conditioning` of the unknowns that are not weak.
    """
    weak = weak_unknowns(sensitivity)
    warnings = [
        f"unknown '{name}' barely changes the residuals (relative sensitivity {rel:.1e}): "
        "it is likely not identifiable from this data"
        for name, rel in weak.items()
    ]
    strong = {k: np.asarray(v, dtype=np.float64) for k, v in sensitivity.items() if k != "<residual>" and k not in weak}
    found = conditioning(strong)
    for ratio, direction in found.directions:
        if ratio < TIED:
            warnings.append(_tie_warning(direction))
        else:
            warnings.append(_poorly_determined_warning(direction, ratio, found.condition_number))
    return warnings, found


def tied_directions(vectors: Mapping[str, np.ndarray]) -> list[dict[str, float]]:
    """Directions of (relative) change of the unknowns that leave the residuals unchanged: ``[{name: change}]``.

    The directions of :func:`conditioning` whose singular value is below ``TIED`` times the largest.
    """
    return [direction for ratio, direction in conditioning(vectors, 1 / TIED).directions if ratio < TIED]


def _tie_warning(direction: Mapping[str, float]) -> str:
    """The message for one undetermined direction."""
    moves = ", ".join(f"{k} {100 * c:+.3g}%" for k, c in direction.items())
    return (
        f"unknowns {', '.join(repr(k) for k in direction)} are not determined separately: changing them together "
        f"({moves}) leaves the residuals unchanged; only other combinations of them are identifiable from this data"
    )


def _poorly_determined_warning(direction: Mapping[str, float], ratio: float, condition_number: float) -> str:
    """The message for one poorly determined direction (``ratio``: its singular value over the largest)."""
    moves = ", ".join(f"{k} {100 * c:+.3g}%" for k, c in direction.items())
    return (
        f"unknowns {', '.join(repr(k) for k in direction)} are poorly determined separately: the condition number "
        f"of their sensitivities is {condition_number:.1e} (above {ILL_CONDITIONED:g}); changing them together "
        f"({moves}) changes the residuals {1 / ratio:.1e} times less than the best-determined combination, so noise "
        "in the data moves them that much more along it"
    )


def unknowns_table(unknowns: Sequence[Any], initial: Mapping[str, float], final: Mapping[str, float]) -> list[dict]:
    """One row per unknown: initial, discovered and true value, and the relative error when the truth is known."""
    rows = []
    for u in unknowns:
        row = {"name": u.name, "initial": initial[u.name], "discovered": final[u.name], "true": u.true}
        row["relative_error"] = None if u.true in (None, 0) else abs(final[u.name] - u.true) / abs(u.true)
        rows.append(row)
    return rows


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The unknowns table as aligned text."""
    if not rows:
        return ""

    def num(v: Any, fmt: str = ".6g") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [f"{'unknown':<12} {'initial':>12} {'discovered':>14} {'true':>12} {'rel. error':>11}"]
    for r in rows:
        err = "-" if r["relative_error"] is None else f"{100 * r['relative_error']:.3g}%"
        lines.append(
            f"{r['name']:<12} {num(r['initial']):>12} {num(r['discovered'], '.8g'):>14} {num(r['true']):>12} {err:>11}"
        )
    return "\n".join(lines)


def fit_unknowns(
    setup: Setup, state: TrainState, objective: Objective, points: Points, terms: tuple[str, ...],
    before: tuple[str, ...]
) -> None:
    """Fit the unknowns to ``terms`` (just switched on) with the network frozen: L-BFGS on their summed losses.

    After a data-only stage (``before`` held a data set) the network follows the data, so this is the classic
    two-step estimate: the unknowns that best explain the fitted fields, found in a second instead of thousands of
    Adam steps during which the network would bend towards the physics of the initial guesses. Fields no such data
    set observed (e.g. pressure) are still arbitrary, so their rows of the output layer are fitted too (on the last
    hidden features, which the data shaped); the rest of the network stays frozen. Only the switched-on terms that
    contain an unknown or such a field count. Skipped when no data set was trained before, when no term contains an
    unknown, or when ``settings.fit_unknowns`` is 0; a non-finite result restores the old values.
    """
    term, unknowns = setup.compiled.terms, state.unknowns
    fitted = {f for t in before for f in term[t].observed}
    if not setup.settings.fit_unknowns or not list(unknowns.parameters()) or not fitted:
        return
    with_unknowns = {t for t in terms if term[t].unknowns}
    if not with_unknowns:
        return
    free = {f for t in with_unknowns for f in term[t].fields} - fitted
    terms = tuple(t for t in terms if t in with_unknowns or set(term[t].fields) & free)
    params = list(unknowns.parameters())
    head = state.net.head
    if free:
        params += [head.weight, head.bias]
    start, before_values = unknowns.floats(), [p.detach().clone() for p in params]
    with objective.shards.local(objective.model):  # over ranks: the closure all-reduces, DDP stays out
        _frozen_network_lbfgs(setup, state.net, objective, points, terms, params, free)
        finite = math.isfinite(_summed_loss(objective, points, terms))
    if not all(torch.isfinite(p).all() for p in params) or not finite:
        with torch.no_grad():
            for p, old in zip(params, before_values, strict=True):
                p.copy_(old)
        say("warning: fitting the unknowns to the newly active terms failed; they keep their values")
        return
    found = unknowns.floats()
    moved = ", ".join([f"{k} {start[k]:.4g} -> {found[k]:.4g}" for k in found] + list(unknowns.functions))
    also = f" (and the output layer of {', '.join(sorted(free))})" if free else ""
    switched = ", ".join(term[t].bare for t in terms)
    say(f"step {state.step + 1}: {switched} on; unknowns fitted with the network frozen{also}: {moved}", setup.quiet)


def _frozen_network_lbfgs(
    setup: Setup, net: torch.nn.Module, objective: Objective, points: Points, terms: tuple[str, ...], params: list,
    free: set[str]
) -> None:
    """L-BFGS on ``params`` (the unknowns, and the output layer's rows of the ``free`` fields) for the summed losses.

    Over several ranks the closure returns the loss over every rank's points and averages the gradients (an
    all-reduced closure), so every rank takes the same L-BFGS steps as one process on all the points.
    """
    head, shards = net.head, objective.shards
    rows = torch.tensor([f in free for f in net.fields], device=setup.device)
    optimizer = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=setup.settings.fit_unknowns,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-12,
        tolerance_change=1e-14,
        history_size=50,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        total = sum(objective.losses(points, terms).values())
        reported = shards.mean(total)
        if torch.isfinite(reported):
            torch.autograd.backward(total, inputs=params)
            shards.average(p.grad for p in params)
            if free:  # only the free fields' rows move: L-BFGS steps lie in the span of the gradients
                head.weight.grad[~rows] = 0
                head.bias.grad[~rows] = 0
        return reported

    optimizer.step(closure)


def _summed_loss(objective: Objective, points: Points, terms: tuple[str, ...]) -> float:
    """The summed losses of ``terms`` as a float (with the gradient graph built, as the fit's closure does)."""
    return float(objective.shards.mean(sum(objective.losses(points, terms).values())).detach())


@dataclass(frozen=True)
class Identifiability:
    """What the check of the unknowns found on the trained network (:func:`check_identifiability`).

    Attributes:
        warnings: weak unknowns, ties, poorly determined combinations (and the intervals' own warnings).
        conditioning: the SVD of the unknowns' sensitivities (its condition number goes to unknowns.json).
        intervals: the unknowns' confidence intervals (None without readings).
    """

    warnings: list[str]
    conditioning: Conditioning
    intervals: Intervals | None = None


def check_identifiability(
    setup: Setup, state: TrainState, points: Points, targets: Points
) -> Identifiability:
    """Warn about unknowns the residuals barely depend on, or depend on only in a fixed or ill-conditioned combination.

    Runs on the trained network at the end of the run (a barely trained network gives false alarms both ways),
    in float64, with the SVD of the normalised sensitivities (see :func:`assess`). ``targets`` are the
    observations at ``points``. With readings, the same linearisation also includes the network's trailing
    parameters and gives the confidence intervals (:func:`pdec.run.intervals.estimate`), on at most ``POINTS``
    points of each equation's or condition's point set (the first ones: the sampler drew them at random). Returns
    the findings, which :func:`report_unknowns` reports.
    """
    compiled = setup.compiled.replace(unknowns=state.unknowns)
    readings = any(t.kind == Kind.DATA for t in compiled.terms.values())
    if readings:
        points = {k: x if k in targets else x[:POINTS] for k, x in points.items()}
    with torch.enable_grad():
        found = linearise(compiled, state.net, points, targets, network=NETWORK if readings else 0)
    warnings, conditioning = assess(found.sensitivities())  # condition number: unknowns.json
    intervals = estimate(found, state.balancer.weights) if readings else None
    if intervals is not None:
        warnings += intervals.warnings
    for warning in warnings:
        say(f"warning: {warning}")
    return Identifiability(warnings, conditioning, intervals)


def report_unknowns(
    setup: Setup, unknowns: Unknowns, discovered: Mapping[str, float], checked: Identifiability | None
) -> None:
    """Print the discovered unknowns against their initial and true values, and their intervals; save unknowns.json.

    Each unknown function goes on the grid of its variables to ``functions/NAME.csv``, summarised under
    ``functions`` in unknowns.json (its relative L2 error against its ``true`` expression, when given).
    ``discovered``: the unknowns' final values; ``checked``: :func:`check_identifiability`'s findings (None: it
    did not run).
    """
    declared = tuple(u for name, u in unknowns.specs.items() if name in unknowns.raw)
    rows = unknowns_table(declared, {u.name: u.init for u in declared}, discovered)
    intervals = None if checked is None else checked.intervals  # with readings only
    saved = rows if intervals is None else describe(rows, intervals)
    report = {"unknowns": saved, "warnings": [] if checked is None else checked.warnings}
    tables = function_tables(unknowns, setup.compiled)
    if tables:
        report["functions"] = {k: t.summary(f"{FUNCTIONS}/{k}.csv") for k, t in tables.items()}
    found = None if checked is None else checked.conditioning
    if found is not None:
        report["condition_number"] = found.condition_number  # of the sensitivities; JSON null for an exact tie
    if intervals is not None:
        report["intervals"] = intervals.to_dict()
    if main_process():
        write_json(setup.run_dir / UNKNOWNS, report)
        for name, table in tables.items():
            write_table(setup.run_dir / FUNCTIONS / f"{name}.csv", table)
    say(format_table(rows), setup.quiet or not rows)
    for name, table in tables.items():
        error = "" if table.true is None else f", relative L2 error {100 * table.relative_error:.3g}% against the true"
        say(
            f"{name}({', '.join(table.args)}): values in [{table.values.min():.4g}, {table.values.max():.4g}] on a "
            f"grid of {len(table.values)} points{error} ({FUNCTIONS}/{name}.csv)",
            setup.quiet,
        )
    if found is not None and len(found.names) > 1:
        say(
            f"condition number of the unknowns' sensitivities ({', '.join(found.names)}): "
            f"{found.condition_number:.3g} (warned above {ILL_CONDITIONED:g})",
            setup.quiet,
        )
    if intervals is not None:
        noise = ", ".join(f"{k} {'-' if v is None else format(v, '.3g')}" for k, v in intervals.noise.items())
        say(f"confidence intervals (linearised; noise estimated from the readings: {noise}):", setup.quiet)
        say("\n".join(f"  {line}" for line in str(intervals).splitlines()), setup.quiet)
