"""Causal training: the equations' residuals at interior points -> a loss that respects time causality.

Wang, Sankaran, Perdikaris (2022), "Respecting causality is all you need for training physics-informed neural
networks". The interior points are binned in the declared time variable (``causal_bins`` equal bins ``t_1 < ... <
t_M``); with ``L_i`` the mean squared residual of bin ``i``, an equation's loss is

    L = (1 / M) sum_i w_i L_i,    w_i = exp(-causal * sum_{k < i} L_k)

with no gradient through the ``w_i``. A later time only trains once every earlier one is resolved (its weight rises
to 1 as the earlier residuals fall). ``causal`` is the tolerance ``epsilon``: 0 switches it off (the plain mean).

A system shares one set of weights, as jaxpi does (Wang et al. 2023, "An expert's guide to training PINNs"; its
Grey-Scott and Navier-Stokes models): each equation ``e`` gives its own ``w_i^e`` from its own bin losses, and every
equation is weighted by their minimum ``w_i = min_e w_i^e``. A time is trained only once every equation is resolved
before it, so no equation trains a later time on top of another equation's unresolved earlier one. A single
equation is unchanged. Each evaluation records the smallest shared weight (``min_weight``), each equation's own
smallest weight (``min_weights``; the equation whose weights are the lowest is the one holding the later times back)
and each equation's plain mean square ``mean(r^2)`` (``plain``), the loss the causal weights replace: the causal
loss is not monotone in the residuals (an iterate worse at every time can score lower, because its larger early
residuals close the later weights), so the kept iterate (pdec.train.checkpoint.BestIterate) is chosen on the plain ones.

With a balancing weighting (inverse Dirichlet, the default) the two act on different axes: the balancer still sets
one weight per term from the gradients of each term's loss, and the causal weights only weight the points within
each equation's term.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from pdec.compiler.driver import CompiledProblem
from pdec.compiler.terms import INTERIOR
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings
from pdec.language.problem import Kind


class Causal:
    """The causal weighting of a run's equations.

    Args:
        column: the time variable's input column.
        bounds: its interval ``(lo, hi)``.
        epsilon: the causality tolerance (> 0).
        bins: the number of time bins.
        terms: the equations' term names (their residual rows are the interior points).
    """

    def __init__(
        self, column: int, bounds: tuple[float, float], epsilon: float, bins: int, terms: tuple[str, ...]
    ) -> None:
        self.column, self.lo, self.hi = column, float(bounds[0]), float(bounds[1])
        self.epsilon, self.bins, self.terms = epsilon, bins, terms
        self.min_weight = 1.0  # the smallest (shared) weight of the last evaluation (shown in the history)
        self.min_weights: dict[str, torch.Tensor] = {}  # each equation's own smallest weight, last evaluation
        self.plain: dict[str, torch.Tensor] = {}  # each equation's plain mean(r^2), detached, last evaluation

    def bin_losses(self, residual: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The mean squared residual ``[bins]`` per time bin (0 for an empty bin)."""
        index = ((times.reshape(-1) - self.lo) / (self.hi - self.lo) * self.bins).floor().long()
        index = index.clamp(0, self.bins - 1)
        squared = residual.pow(2).reshape(len(index), -1).mean(dim=1)
        sums = torch.zeros(self.bins, dtype=squared.dtype, device=squared.device).index_add(0, index, squared)
        counts = torch.zeros_like(sums).index_add(0, index, torch.ones_like(squared))
        return sums / counts.clamp_min(1)

    def weights(self, bin_losses: torch.Tensor) -> torch.Tensor:
        """``w_i = exp(-epsilon * sum_{k<i} L_k)``, detached: no gradient flows through the weights."""
        earlier = torch.cumsum(bin_losses.detach(), 0) - bin_losses.detach()
        return torch.exp(-self.epsilon * earlier)

    def loss(self, residual: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The causal loss ``(1/M) sum_i w_i L_i`` of one equation's residual ``[N, r]`` at times ``[N, 1]``."""
        per_bin = self.bin_losses(residual, times)
        w = self.weights(per_bin)
        self.min_weight = float(w.min())
        return (w * per_bin).mean()

    def losses(
        self, residuals: Mapping[str, torch.Tensor], points: Mapping[str, torch.Tensor], active: tuple[str, ...]
    ) -> dict[str, torch.Tensor]:
        """The causal losses of the active equations (``points[INTERIOR]`` are their rows), with shared weights.

        Each equation's own weights come from its bin losses; every equation is weighted by their minimum over the
        equations (bin by bin). Records ``min_weight``, ``min_weights`` and ``plain`` (see the module docstring).
        """
        times = points[INTERIOR][:, self.column : self.column + 1]
        terms = [t for t in self.terms if t in active]
        self.min_weights, self.plain = {}, {}
        if not terms:
            return {}
        per_bin = {t: self.bin_losses(residuals[t], times) for t in terms}
        own = {t: self.weights(v) for t, v in per_bin.items()}
        shared = torch.stack(list(own.values())).amin(dim=0)
        self.min_weights = {t: w.min() for t, w in own.items()}
        self.min_weight = float(shared.min())
        self.plain = {t: residuals[t].detach().pow(2).mean() for t in terms}
        return {t: (shared * per_bin[t]).mean() for t in terms}

    def smallest(self) -> dict[str, float]:
        """The smallest weights of the last evaluation, a history row's ``causal`` (pdec.run.history.Row).

        Key ``""``: the weight the equations share (the one the diagnostics watch, column ``causal:min_weight``); each
        equation's own smallest by its term (column ``causal:min_weight:<equation>``).
        """
        return {"": self.min_weight} | {t: float(w) for t, w in self.min_weights.items()}


def make_causal(compiled: CompiledProblem, settings: Settings) -> Causal | None:
    """The causal weighting of a run, or None when ``causal = 0`` (PdecRunError without a time variable)."""
    if not settings.causal:
        return None
    time = getattr(compiled, "time", None)
    if time is None:
        raise PdecRunError(
            "causal training needs a time variable",
            hint="declare one with `time t in [0, T]`, or set causal = 0",
        )
    column = compiled.variables.index(time)
    terms = tuple(name for name, t in compiled.terms.items() if t.kind == Kind.PDE)
    return Causal(column, compiled.bounds[time], settings.causal, settings.causal_bins, terms)


__all__ = ["Causal", "make_causal"]
