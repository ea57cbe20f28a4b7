"""Sampling: compiled point sets -> collocation points (interior box or domain, faces and pieces, fixed data points).

Every draw is a pure function of ``(seed, round, point-set name)``: resampling round ``r`` always gives the same
points, so a resumed run sees exactly the points an uninterrupted run would have seen, and no generator state has to
be checkpointed.
"""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from pdec.compiler.driver import CompiledProblem
from pdec.core.errors import PdecRunError
from pdec.core.intervals import spread
from pdec.core.registry import SAMPLERS
from pdec.core.settings import Settings
from pdec.geometry import Domain, accepted


def unit_points(n: int, dim: int, sampler: str, seed: int) -> np.ndarray:
    """Draw points in the unit cube ``[0, 1]^dim`` with the point rule ``sampler`` (pdec.core.registry.SAMPLERS).

    Args:
        n: how many points (the ``grid`` sampler rounds up to a full grid of ``m**dim >= n`` cell centres).
        dim: the dimension (0 gives ``n`` empty rows).
        sampler: one of ``random``, ``lhs``, ``sobol``, ``halton`` (scrambled quasi-random), ``grid``.
        seed: seed of the draw.

    Returns:
        An array ``[n, dim]`` (``[m**dim, dim]`` for the grid) of float64.
    """
    rule = SAMPLERS.load(sampler)
    rule = getattr(rule, "point_rule", rule)  # an adaptive sampler's fixed draws (round 0, faces) use its rule
    if dim == 0:
        return np.zeros((n, 0))
    return rule(n, dim, seed)


def random_points(n: int, dim: int, seed: int) -> np.ndarray:
    """Independent uniform points."""
    return np.random.default_rng(seed).random((n, dim))


def grid_points(n: int, dim: int, seed: int) -> np.ndarray:
    """The cell centres of the smallest regular grid with at least ``n`` points (``seed`` unused)."""
    m = max(1, math.ceil(n ** (1.0 / dim) - 1e-9))
    axis = (np.arange(m) + 0.5) / m
    mesh = np.meshgrid(*([axis] * dim), indexing="ij")
    return np.stack([g.ravel() for g in mesh], axis=1)


def lhs_points(n: int, dim: int, seed: int) -> np.ndarray:
    """Scrambled Latin hypercube points."""
    return _qmc_points(qmc.LatinHypercube, n, dim, seed)


def sobol_points(n: int, dim: int, seed: int) -> np.ndarray:
    """Scrambled Sobol points."""
    return _qmc_points(qmc.Sobol, n, dim, seed)


def halton_points(n: int, dim: int, seed: int) -> np.ndarray:
    """Scrambled Halton points."""
    return _qmc_points(qmc.Halton, n, dim, seed)


def _qmc_points(cls: type[qmc.QMCEngine], n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` points of a scrambled, seeded scipy.stats.qmc engine (``rng=`` on scipy >= 1.15, ``seed=`` before)."""
    try:
        engine = cls(dim, scramble=True, rng=np.random.default_rng(seed))
    except TypeError:
        engine = cls(dim, scramble=True, seed=np.random.default_rng(seed))
    with warnings.catch_warnings():  # Sobol warns when n is not a power of two; the points are still fine
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(n)


def box_points(
    n: int, bounds: Mapping[str, tuple[float, float]], region: Mapping[str, float], sampler: str, seed: int
) -> np.ndarray:
    """Draw points in the box ``bounds`` with the variables of ``region`` fixed (a face), columns in bounds order.

    A face of dimension 0 (a point, e.g. ``x = 0`` in 1D) gets a single row: the residual there is one number.
    """
    names = list(bounds)
    free = [v for v in names if v not in region]
    if not free:
        n = 1
    unit = unit_points(n, len(free), sampler, seed)
    out = np.empty((len(unit), len(names)))
    k = 0
    for j, v in enumerate(names):
        if v in region:
            out[:, j] = float(region[v])
        else:
            out[:, j] = spread(bounds[v], unit[:, k])  # evenly, or evenly in log(v) for a `log` parameter
            k += 1
    return out


PREFIX_RULES = ("sobol", "halton", "random")  # a longer draw starts with the shorter one: keep the first accepted
MOST_POINTS = 2**24  # the longest sequence drawn to find the accepted points of a domain


def domain_points(
    n: int,
    bounds: Mapping[str, tuple[float, float]],
    region: Mapping[str, float],
    domain: Domain,
    boundary: str | None,
    sampler: str,
    seed: int,
) -> np.ndarray:
    """Draw ``n`` points inside ``domain`` (``boundary`` None) or on its boundary piece ``boundary``.

    The spatial columns are drawn in the domain's bounding box (or on the piece's whole segment) and kept when inside
    (on the domain's boundary), drawing a longer sequence until ``n`` are kept; the other free variables (time) are
    spread over their intervals by the same draw, and the variables of ``region`` are fixed. A scrambled Sobol,
    Halton or random draw keeps its first ``n`` accepted points (a longer draw starts with the shorter one); the
    other rules keep ``n`` evenly spaced ones. Columns follow ``bounds``.
    """
    names = list(bounds)
    others = [v for v in names if v not in domain.variables and v not in region]
    if boundary is None:
        lo, hi = domain.bounds()
        dim, fraction = len(domain.variables), domain.fill

        def place(unit: np.ndarray) -> np.ndarray:
            return lo + unit * (hi - lo)

        def keep(points: np.ndarray) -> np.ndarray:
            return domain.contains(points)
    else:
        piece = domain.piece(boundary)
        dim, fraction, place = piece.dim, piece.fraction, piece.points

        def keep(points: np.ndarray) -> np.ndarray:
            return domain.on_boundary(piece, points)

    k = dim + len(others)
    n = n if k else 1  # an end point of an interval, with nothing else free: one row
    found = accepted(
        n, lambda m: unit_points(m, k, sampler, seed), lambda u: keep(place(u[:, :dim])), fraction, MOST_POINTS
    )
    if found is None:
        where = f"on '{boundary}'" if boundary is not None else "inside"
        raise PdecRunError(f"could not draw {n} points {where} the domain '{domain.name}' from {MOST_POINTS} tries")
    rows, unit = found
    rows = rows[:n] if sampler in PREFIX_RULES else rows[np.linspace(0, len(rows) - 1, n).round().astype(int)]
    unit = unit[rows]
    spatial = place(unit[:, :dim])
    out = np.empty((n, len(names)))
    for j, v in enumerate(names):
        if v in region:
            out[:, j] = float(region[v])
        elif v in domain.variables:
            out[:, j] = spatial[:, domain.variables.index(v)]
        else:
            out[:, j] = spread(bounds[v], unit[:, dim + others.index(v)])
    return out


def region_points(
    n: int,
    bounds: Mapping[str, tuple[float, float]],
    region: Mapping[str, float],
    sampler: str,
    seed: int,
    domain: Domain | None = None,
    boundary: str | None = None,
) -> np.ndarray:
    """Points of a point set: in the box (:func:`box_points`) without a domain or at a point; else in the domain."""
    if domain is None or (boundary is None and any(v in region for v in domain.variables)):
        return box_points(n, bounds, region, sampler, seed)
    return domain_points(n, bounds, region, domain, boundary, sampler, seed)


def face_measure(bounds: Mapping[str, tuple[float, float]], region: Mapping[str, float]) -> float:
    """The (d-1)-dimensional measure of a face: the product of the free variables' interval lengths (1 for a point)."""
    return math.prod(hi - lo for v, (lo, hi) in bounds.items() if v not in region)


def split_counts(total: int, measures: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` points over pieces in proportion to their measures (largest remainder, at least 1 each)."""
    mass = sum(measures.values())
    if mass <= 0:
        measures, mass = dict.fromkeys(measures, 1.0), float(len(measures))
    exact = {k: total * m / mass for k, m in measures.items()}
    counts = {k: int(math.floor(x)) for k, x in exact.items()}
    by_remainder = sorted(exact, key=lambda k: counts[k] - exact[k])
    for k in by_remainder[: total - sum(counts.values())]:
        counts[k] += 1
    return {k: max(1, c) for k, c in counts.items()}


def data_arrays(data: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The fixed points and observed values of a data point set.

    Accepts the compiler's ``Observations(points, targets)``, a DataSet-like record (``points``, ``values``) or a
    ``(points, values)`` pair; arrays or tensors.
    """
    if hasattr(data, "points"):
        points = data.points
        values = getattr(data, "targets", getattr(data, "values", None))
    else:
        points, values = data
    return _numpy(points), None if values is None else _numpy(values)


def _numpy(array: Any) -> np.ndarray:
    """A float64 numpy copy of an array or tensor."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().double().numpy()
    return np.asarray(array, dtype=float)


@dataclass(frozen=True)
class SetFill:
    """How one point set is filled: its name, fixed region, point count, or fixed data."""

    name: str
    region: Mapping[str, float]
    count: int
    data: Any = None
    boundary: str | None = None  # a piece of the domain's boundary


def plan_counts(
    point_sets: Mapping[str, Any],
    bounds: Mapping[str, tuple[float, float]],
    settings: Settings,
    bare: Mapping[str, str],
    domain: Domain | None = None,
) -> dict[str, SetFill]:
    """Decide the point count of every point set.

    The interior gets ``settings.interior`` (or the largest ``points.NAME`` of its equations); each condition gets
    ``settings.boundary`` (or ``points.NAME``) split over its pieces in proportion to their measure (a face's, or
    the part of a domain piece on the domain's boundary, times the other free intervals); data sets keep their fixed
    points. ``bare`` maps each term name to its name in the spec (``Term.bare``).
    """
    plans: dict[str, SetFill] = {}
    by_term: dict[str, dict[str, float]] = {}
    for ps in point_sets.values():
        boundary = getattr(ps, "boundary", None)
        if ps.data is not None:
            plans[ps.name] = SetFill(ps.name, dict(ps.region), len(data_arrays(ps.data)[0]), ps.data)
        elif not ps.region and boundary is None:
            overrides = [settings.points[bare[t]] for t in ps.terms if bare[t] in settings.points]
            plans[ps.name] = SetFill(ps.name, {}, max(overrides, default=settings.interior))
        else:
            for term in ps.terms:
                by_term.setdefault(term, {})[ps.name] = piece_measure(bounds, ps.region, domain, boundary)
    for term, measures in by_term.items():
        total = settings.points.get(bare[term], settings.boundary)
        for name, count in split_counts(total, measures).items():
            boundary = getattr(point_sets[name], "boundary", None)
            plans[name] = SetFill(name, dict(point_sets[name].region), count, boundary=boundary)
    return plans


def piece_measure(
    bounds: Mapping[str, tuple[float, float]], region: Mapping[str, float], domain: Domain | None, boundary: str | None
) -> float:
    """A face's measure, or a domain piece's (its part on the boundary) times the free intervals of the others."""
    if boundary is None:
        return face_measure(bounds, region)
    rest = {v: b for v, b in bounds.items() if v not in domain.variables}
    return domain.piece(boundary).measure * face_measure(rest, region)


@dataclass(frozen=True)
class SamplingContext:
    """What a sampler may look at when it draws a round: the network, the compiled problem and the unknowns.

    ``residuals(points)`` evaluates every term's residual at the given points (``{point set: [N, d]}``): what an
    adaptive sampler (residual-based refinement) needs. The fixed samplers ignore the context.
    """

    net: Any
    compiled: CompiledProblem
    unknowns: Any
    run_dir: Any = None  # where an adaptive sampler records its point clouds (None: nowhere)

    def residuals(self, points: Mapping[str, Any]) -> dict[str, Any]:
        """``{term name: residual [N, r]}`` at ``points`` with the current network and unknowns."""
        return self.compiled.evaluate(self.net, points, None, self.unknowns.values())


class Sampler:
    """Draws the points of every point set of a compiled problem; round ``r`` is a pure function of the seed.

    The interface a sampler offers the trainer is ``draw(round, names, context)`` and ``targets()``; ``context``
    (a :class:`SamplingContext`) lets an adaptive sampler see the model and its residuals.

    Args:
        compiled: the compiled problem (uses ``point_sets`` and ``bounds``).
        settings: the resolved settings (``interior``, ``boundary``, ``points``, ``sampler``, ``seed``).
    """

    def __init__(self, compiled: CompiledProblem, settings: Settings) -> None:
        self.bounds = {v: compiled.bounds[v] for v in compiled.variables}  # floats; a LogInterval stays one
        self.domain = getattr(compiled, "domain", None)
        bare = {name: t.bare for name, t in compiled.terms.items()}
        self.plans = plan_counts(compiled.point_sets, self.bounds, settings, bare, self.domain)
        self.sampler = settings.sampler
        self.seed = settings.seed

    def draw(self, round_: int = 0, names: Any = None, context: SamplingContext | None = None) -> dict[str, np.ndarray]:
        """Return ``{point-set name: [N, d] array}`` for resampling round ``round_`` (only ``names`` if given).

        The fixed rules ignore ``context``: round ``r`` is a pure function of the seed, the round and the name.
        """
        out = {}
        for name, plan in self.plans.items():
            if names is not None and name not in names:
                continue
            if plan.data is not None:
                out[name] = data_arrays(plan.data)[0]
            elif self.on_a_line(plan):
                (lo, hi), unit = next(iter(self.bounds.values())), line_points(plan.count, round_, self.seed)
                out[name] = lo + unit * (hi - lo)
            else:
                seed = draw_seed(self.seed, round_, name)
                out[name] = region_points(
                    plan.count, self.bounds, plan.region, self.sampler, seed, self.domain, plan.boundary
                )
        return out

    def on_a_line(self, plan: SetFill) -> bool:
        """The interior of a problem in one variable under the default rule: evenly spaced (:func:`line_points`)."""
        whole = not plan.region and plan.boundary is None and self.domain is None
        return self.sampler == "sobol" and len(self.bounds) == 1 and whole

    def heldout(self, names: Any) -> dict[str, np.ndarray]:
        """A draw no training step sees, of the point sets ``names`` (data sets left out): the same counts and regions,
        scrambled Sobol points from a seed of their own (:data:`HELDOUT_ROUND`), whatever the run's sampler."""  # noqa: D205, D209
        out = {}
        for name in names:
            plan = self.plans[name]
            if plan.data is None:
                seed = draw_seed(self.seed, HELDOUT_ROUND, name)
                region, boundary = plan.region, plan.boundary
                out[name] = region_points(plan.count, self.bounds, region, "sobol", seed, self.domain, boundary)
        return out

    def targets(self) -> dict[str, np.ndarray]:
        """Return ``{data point-set name: [N, k] observed values}``."""
        out = {}
        for name, plan in self.plans.items():
            if plan.data is not None:
                values = data_arrays(plan.data)[1]
                if values is not None:
                    out[name] = values
        return out


HELDOUT_ROUND = 2**31 - 1  # the round of the held-out draw (Sampler.heldout): one no run reaches


def line_points(n: int, round_: int, seed: int) -> np.ndarray:
    """``n`` evenly spaced points in [0, 1] (``[n, 1]``): the cell centres ``(i + 1/2) / n`` in round 0, the same
    lattice moved by a seeded offset in each later resampling round.

    The equations' points of a problem in one variable (an ODE, a 1-D boundary-value problem) come from here under
    the default ``sobol`` rule. In one dimension evenly spaced points are the most uniform set there is; scrambled
    Sobol points are stratified only when ``n`` is a power of two, and leave gaps up to twice the spacing otherwise
    (benchmarks/results/ode_points.md measures what that cost).
    """  # noqa: D205
    shift = 0.5 if round_ == 0 else float(np.random.default_rng([seed, round_]).random())
    return ((np.arange(n) + shift) / n)[:, None]


def draw_seed(seed: int, round_: int, name: str) -> int:
    """A 64-bit seed derived from the run seed, the resampling round and the point-set name."""
    sequence = np.random.SeedSequence([seed, round_, zlib.crc32(name.encode())])
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


def eval_points(bounds: Mapping[str, tuple[float, float]], n: int, domain: Domain | None = None) -> np.ndarray:
    """A fixed evaluation set: ``n`` scrambled Sobol points in the box or the domain (seed fixed, not the run's)."""
    return region_points(n, bounds, {}, "sobol", 12345, domain)


def make_sampler(compiled: CompiledProblem, settings: Settings) -> Sampler:
    """The sampler of a run: ``settings.sampler`` is a point rule (:func:`unit_points`) or an adaptive Sampler class."""
    rule = SAMPLERS.load(settings.sampler)
    if isinstance(rule, type) and issubclass(rule, Sampler):
        return rule(compiled, settings)
    return Sampler(compiled, settings)
