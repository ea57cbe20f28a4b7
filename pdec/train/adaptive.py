"""Adaptive collocation: the model's residuals -> where the interior points of the next resampling round go.

Wu, Zhu, Tan, Kartha, Lu (2023), "A comprehensive study of non-adaptive and residual-based adaptive sampling for
physics-informed neural networks". Both samplers draw ``CANDIDATES`` times more candidate points than they keep (50:
the 100,000 candidates for 2,000 points of the paper's Burgers code), evaluate the equations' residual norm ``e(x)``
there with the current network (through the :class:`~pdec.train.sampling.SamplingContext`), and sample from the density

    p(x) ∝ e(x)^k / mean(e^k) + c

- ``sampler = rad`` (residual-based adaptive distribution, ``k = 1``, ``c = 1``): every round (``resample = N``
  steps) replaces the interior points by a fresh draw from ``p``;
- ``sampler = rar_d`` (residual-based adaptive refinement with distribution, ``k = 2``, ``c = 0``): every round adds
  ``ADDED`` of the interior count, drawn from ``p``, to the points so far.

The draw is with replacement, so the kept points follow ``p`` however concentrated it is. The paper's code draws
without replacement, which caps the density at ``CANDIDATES`` times the uniform one: with 10 candidates per point a
front on 1.6% of the domain got 14% of the points where ``p`` gives it 51% (tests/test_adaptive.py). A candidate drawn
twice is kept twice: a point of double weight in the mean residual, as ``p`` asks for.

Round 0, the faces and the data sets use the fixed rule (scrambled Sobol). Each round's interior points are written
to ``points/round_R.csv`` in the run directory, so a user can see where the points went. Unlike the fixed rules,
a round depends on the network: a resumed run redraws its current round from the restored network. Over several
processes (pdec.train.distributed) rank 0 draws the round and broadcasts it, so every rank shards the same points even
where the ranks' residuals differ in the last bits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import CompiledProblem
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings
from pdec.language.problem import Kind
from pdec.train.console import main_process
from pdec.train.distributed import from_rank0
from pdec.train.sampling import Sampler, SamplingContext, draw_seed, region_points, sobol_points

BASE_RULE = "sobol"  # the rule of round 0, the faces, and the candidates
CANDIDATES = 50  # candidate points per kept point (Wu et al.: 100,000 for 2,000)
ADDED = 0.1  # RAR-D: the fraction of the interior count added per round
CHUNK = 8192  # candidate points per residual evaluation
POINTS_DIR = "points"


def density(errors: np.ndarray, k: float, c: float) -> np.ndarray:
    """The sampling probabilities ``p_i ∝ e_i^k / mean(e^k) + c`` (uniform when every error is zero), summing to 1."""
    powered = np.power(np.abs(errors), k)
    mean = powered.mean()
    p = (powered / mean if mean > 0 else np.zeros_like(powered)) + c
    if not np.all(np.isfinite(p)) or p.sum() <= 0:
        p = np.ones_like(powered)
    return p / p.sum()


def select(candidates: np.ndarray, errors: np.ndarray, n: int, k: float, c: float, seed: int) -> np.ndarray:
    """``n`` of the candidates ``[S, d]``, drawn with replacement from :func:`density` of their errors ``[S]``.

    With replacement, each kept point is an independent draw from ``p`` over the candidates, so the fraction of the
    points in a region is the mass ``p`` gives it, however concentrated (without replacement no candidate could be
    kept twice, and a region's share was capped at its share of the candidates).
    """
    p = density(errors, k, c)
    chosen = np.random.default_rng(seed).choice(len(candidates), size=n, replace=True, p=p)
    return candidates[np.sort(chosen)]


def residual_norms(context: SamplingContext, point_set: str, points: np.ndarray, terms: Iterable[str]) -> np.ndarray:
    """The Euclidean norm ``[N]`` of the residuals of ``terms`` at ``points`` (evaluated in chunks)."""
    params = list(getattr(context.net, "parameters", lambda: [])())
    device = params[0].device if params else torch.device("cpu")
    dtype = context.compiled.dtype
    terms = tuple(terms)
    out = []
    for start in range(0, len(points), CHUNK):
        x = torch.as_tensor(points[start : start + CHUNK], dtype=dtype, device=device)
        residuals = context.residuals({point_set: x})
        squared = sum(residuals[t].detach().pow(2).reshape(len(x), -1).sum(dim=1) for t in terms)
        out.append(torch.sqrt(squared).double().cpu().numpy())
    return np.concatenate(out)


class Adaptive(Sampler):
    """A sampler whose interior points follow the residual (see the module docstring); subclasses set the rule."""

    K = 1.0
    C = 1.0
    point_rule = staticmethod(sobol_points)  # the fixed rule (BASE_RULE), for draws that do not adapt

    def __init__(self, compiled: CompiledProblem, settings: Settings) -> None:
        if not settings.resample:
            raise PdecRunError(
                f"sampler {settings.sampler} moves the points every resampling round, but resample = 0",
                hint="set resample = N: a new round every N Adam steps (e.g. resample = 1000)",
            )
        super().__init__(compiled, settings)
        self.sampler = BASE_RULE
        self.variables = tuple(compiled.variables)
        self.equations = tuple(n for n, t in compiled.terms.items() if t.kind == Kind.PDE)
        self.adaptive = tuple(
            n for n, p in self.plans.items() if not p.region and p.data is None and p.boundary is None
        )
        self.rounds: dict[tuple[int, str], np.ndarray] = {}  # (round, point set) -> its interior points

    def draw(self, round_: int = 0, names: Any = None, context: SamplingContext | None = None) -> dict[str, np.ndarray]:
        """The fixed rule's points, with each interior point set of round > 0 drawn from the residual density."""
        out = super().draw(round_, names, context)
        for name in self.adaptive:
            if name not in out:
                continue
            key = (round_, name)
            if key not in self.rounds:
                adaptive = round_ > 0 and context is not None and self.equations
                self.rounds[key] = self.shared_refine(name, round_, context, out[name]) if adaptive else out[name]
                self.record(round_, self.rounds[key], context)
            out[name] = self.rounds[key]
        self.rounds = {k: v for k, v in self.rounds.items() if k[0] >= round_ - 1}  # RAR-D needs the one before
        return out

    def candidates(self, name: str, round_: int, context: SamplingContext) -> tuple[np.ndarray, np.ndarray]:
        """Candidate points ``[S, d]`` for ``name`` in round ``round_`` and their residual norms ``[S]``."""
        count = CANDIDATES * self.plans[name].count
        seed = draw_seed(self.seed, round_, name + "/candidates")
        points = region_points(count, self.bounds, {}, BASE_RULE, seed, self.domain)
        terms = [t for t in self.equations if t in context.compiled.point_sets[name].terms]
        return points, residual_norms(context, name, points, terms)

    def refine(self, name: str, round_: int, context: SamplingContext, base: np.ndarray) -> np.ndarray:
        """The interior points of round ``round_`` (``base`` is the fixed rule's draw)."""
        raise NotImplementedError

    def shared_refine(self, name: str, round_: int, context: SamplingContext, base: np.ndarray) -> np.ndarray:
        """:meth:`refine` on rank 0, broadcast to every rank (itself in one process).

        The other ranks do not evaluate the candidates: their copy of the network is the same up to the last bits of
        the all-reduced gradients, and a point drawn on one rank and not on another would break the sharding.
        """
        return from_rank0(self.refine(name, round_, context, base) if main_process() else None)

    def record(self, round_: int, points: np.ndarray, context: SamplingContext | None) -> None:
        """Write a round's interior points to ``points/round_R.csv`` in the run directory (rank 0 only)."""
        run_dir = getattr(context, "run_dir", None)
        if run_dir is None or not main_process():
            return
        folder = Path(run_dir) / POINTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        np.savetxt(folder / f"round_{round_}.csv", points, delimiter=",", header=",".join(self.variables), comments="")


class RAD(Adaptive):
    """Residual-based adaptive distribution: each round redraws every interior point from the density (k=1, c=1)."""

    K, C = 1.0, 1.0

    def refine(self, name: str, round_: int, context: SamplingContext, base: np.ndarray) -> np.ndarray:
        """A fresh draw of ``len(base)`` points from the residual density."""
        points, errors = self.candidates(name, round_, context)
        return select(points, errors, len(base), self.K, self.C, draw_seed(self.seed, round_, name + "/select"))


class RARD(Adaptive):
    """Residual-based adaptive refinement with distribution: each round adds points from the density (k=2, c=0)."""

    K, C = 2.0, 0.0

    def refine(self, name: str, round_: int, context: SamplingContext, base: np.ndarray) -> np.ndarray:
        """The previous round's points plus ``ADDED`` of the interior count drawn from the residual density."""
        previous = self.rounds.get((round_ - 1, name))
        if previous is None:  # a resumed run: start again from round 0's points
            previous = region_points(len(base), self.bounds, {}, BASE_RULE, draw_seed(self.seed, 0, name), self.domain)
        points, errors = self.candidates(name, round_, context)
        added = max(1, int(round(ADDED * self.plans[name].count)))
        new = select(points, errors, added, self.K, self.C, draw_seed(self.seed, round_, name + "/select"))
        return np.concatenate([previous, new])


def point_clouds(run_dir: str | Path) -> Mapping[int, np.ndarray]:
    """The recorded interior points of an adaptive run: ``{round: [N, d]}``."""
    folder = Path(run_dir) / POINTS_DIR
    found = {int(p.stem.split("_")[1]): p for p in folder.glob("round_*.csv")}
    return {r: np.loadtxt(found[r], delimiter=",", skiprows=1, ndmin=2) for r in sorted(found)}


__all__ = ["RAD", "RARD", "Adaptive", "density", "point_clouds", "select"]
