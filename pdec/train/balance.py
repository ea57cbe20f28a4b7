"""Loss balancing: per-term losses (and, for gradient-based strategies, per-term gradients) -> loss weights.

Every strategy is a :class:`Balancer` keyed by term name (``pde:burgers``, ``bc:left``, ...), built from the compiled
problem's Term records (``{name: Term}``), so strategies group terms by their kind (and can single out conditions at
isolated points, ``Term.isolated``) without parsing names. The trainer asks
:meth:`Balancer.due` whether a step is an update step; for gradient-based strategies (``uses_grads``) it then passes
the gradients over the *network* parameters only (never the unknown physical parameters) of the sums of terms that
:meth:`Balancer.gradient_sums` names: every term alone by default, one sum per group under the inverse Dirichlet
rules (none for a term outside every group, none at all when a lone group's weights cannot move), computed by
:func:`sum_gradients`. Weights are plain floats: constants in the loss, never differentiated.

Strategies:

- ``inverse_dirichlet_grouped``: inverse Dirichlet between two groups, the equations and the conditions with the
  data; every term of a group shares the group's weight (see :class:`GroupedInverseDirichlet`).
- ``inverse_dirichlet`` (Maddu et al. 2022), the paper's rule per term: ``sigma_k = std(grad_theta L_k)``
  (unbiased, over all weights and biases), ``lambda_hat_k = max_t sigma_t / sigma_k``,
  ``lambda_k <- alpha lambda_k + (1 - alpha) lambda_hat_k``. pdec's ``alpha`` weights the *old* value; the authors'
  code writes ``(1 - alpha) lambda + alpha lambda_hat``, the same rule at their (and pdec's) alpha = 0.5.
- ``inverse_dirichlet_grouped_capped`` (the default): the grouped rule's two groups, then the data's weight held at
  most at the smallest weight of the equations and conditions (in practice 1), so noisy readings never outweigh the
  physics; without data it is the grouped rule, term for term (see :class:`GroupedCappedInverseDirichlet`).
- ``inverse_dirichlet_data_capped`` (the default 2026-12-06 to 12-07): the same cap with the data in a third group
  of their own (see :class:`DataCappedInverseDirichlet`).
- ``inverse_dirichlet_equations``: every equation its own group, the conditions pooled, the data pooled.
- ``fixed``: ``settings.weights[bare name]`` (default 1), never updated.
- ``max_avg`` (Wang, Teng & Perdikaris 2021, learning-rate annealing): ``lambda_hat_k = max |grad sum L_pde| /
  mean |grad lambda_k L_k|`` for every non-PDE term, same moving average; PDE terms keep 1.
  ``max_avg_unweighted`` divides by ``mean |grad L_k|`` instead (pdec's earlier variant).
- ``relobralo`` (Bischof & Kraus 2021): loss-value based relative balancing with random lookback, every step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from pdec.core.registry import WEIGHTINGS
from pdec.core.settings import Settings
from pdec.language.problem import Kind

if TYPE_CHECKING:
    from pdec.compiler.terms import Term

Grads = Mapping[str, Sequence[torch.Tensor | None]]


class Balancer:
    """The interface: weights by term name, updated from losses (and gradients when ``uses_grads``).

    Args:
        terms: every term of the problem, ``{name: Term}`` (a plain sequence of names is read by their prefixes).
        settings: the resolved settings (``alpha``, ``update_every``, ``weights``).
    """

    name = "base"
    uses_grads = False

    def __init__(self, terms: Mapping[str, Term] | Sequence[str], settings: Settings) -> None:
        self.terms = tuple(terms)
        self.kind, self.bare, self.isolated = _describe(terms)
        self.alpha = settings.alpha
        self.every = settings.update_every
        self.weights: dict[str, float] = dict.fromkeys(self.terms, 1.0)
        self.forced = False

    def due(self, step: int) -> bool:
        """Whether step ``step`` (1-based) updates the weights: the first step, every ``update_every``, or forced."""
        return self.forced or (step - 1) % self.every == 0

    def gradient_sums(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """The sums of terms whose gradients :meth:`update` reads, by name: here every term of ``losses`` alone."""
        return {k: [k] for k in losses}

    def update(self, losses: Mapping[str, torch.Tensor], grads: Grads | None = None) -> None:
        """Update the weights of the terms in ``losses`` (the active terms).

        ``grads``: the gradients of :meth:`gradient_sums`' sums (or, for every strategy, of each term alone).
        """
        self.forced = False

    def reset(self) -> None:
        """Set every weight back to 1 and force an update at the next step (a term has switched on)."""
        self.weights = dict.fromkeys(self.terms, 1.0)
        self.forced = True

    def state_dict(self) -> dict[str, Any]:
        """The state to checkpoint."""
        return {"weights": dict(self.weights), "forced": self.forced}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        self.weights = dict(state["weights"])
        self.forced = bool(state["forced"])

    def moving_average(self, targets: Mapping[str, float]) -> None:
        """``lambda_k <- alpha lambda_k + (1 - alpha) lambda_hat_k`` for every term in ``targets``."""
        for k, hat in targets.items():
            self.weights[k] = self.alpha * self.weights[k] + (1.0 - self.alpha) * hat


class Fixed(Balancer):
    """Constant weights from ``settings.weights`` (bare names), 1 where not given."""

    name = "fixed"

    def __init__(self, terms: Mapping[str, Term] | Sequence[str], settings: Settings) -> None:
        super().__init__(terms, settings)
        self.fixed = {k: float(settings.weights.get(self.bare[k], 1.0)) for k in self.terms}
        self.weights = dict(self.fixed)

    def due(self, step: int) -> bool:
        """Fixed weights never update."""
        return False

    def reset(self) -> None:
        """Nothing to recompute."""


def _flat(grads: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
    """Concatenate the non-None gradients into one vector (None when there are none)."""
    parts = [g.reshape(-1) for g in grads if g is not None]
    return torch.cat(parts) if parts else None


class InverseDirichlet(Balancer):
    """Inverse-Dirichlet weighting (Maddu et al. 2022, mosaic-group/inverse-dirichlet-pinn)."""

    name = "inverse_dirichlet"
    uses_grads = True

    def gradient_sums(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """One sum per group; none when a lone group's weights are where its update would leave them.

        A lone group's ``lambda_hat`` is ``sigma / sigma = 1`` whatever its gradient (or its weights stay, when
        ``sigma`` is 0 or not finite), so once its weights equal ``alpha w + (1 - alpha)`` (at 1: every forward problem
        whose conditions all sit at isolated points) its gradient cannot change them.
        """
        groups = self.groups(losses)
        if len(groups) == 1:
            members = next(iter(groups.values()))
            if all(self.alpha * self.weights[k] + (1.0 - self.alpha) == self.weights[k] for k in members):
                return {}
        return groups

    def update(self, losses: Mapping[str, torch.Tensor], grads: Grads | None = None) -> None:
        """Update from the gradient std of each group of terms; a group with ``sigma = 0`` keeps its weight.

        A group's gradient is ``grads[group]`` (the trainer's, from :meth:`gradient_sums`) or the sum of its terms'.
        """
        super().update(losses, grads)
        if not self.gradient_sums(losses):
            return
        groups = self.groups(losses)
        sigma = {
            g: gradient_std(grads[g] if g in grads else _summed([grads[k] for k in members]))
            for g, members in groups.items()
        }
        live = {g: s for g, s in sigma.items() if s > 0.0 and math.isfinite(s)}
        if not live:
            return
        top = max(live.values())
        self.moving_average({k: top / s for g, s in live.items() for k in groups[g]})

    def groups(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """The groups that share a weight: here every term on its own (the paper's rule)."""
        return {k: [k] for k in losses}


class GroupedInverseDirichlet(InverseDirichlet):
    """Inverse-Dirichlet weighting between two groups: the equations, and the conditions with the data.

    Each group's gradient is the sum of its terms' gradients; ``sigma_g`` is its unbiased std over all weights and
    biases, ``lambda_hat_g = max_h sigma_h / sigma_g``, and every term of a group takes the group's weight (moving
    average with ``alpha``, every ``update_every`` steps, as in :class:`InverseDirichlet`). This is the shape of the
    seed authors' code, ``L_r + lambda L_bc`` with all boundary pieces in one ``L_bc``. Balancing each term on its
    own instead gives every term one vote: the terms that a trivial solution (u = 0) already satisfies have tiny
    gradients, get weights of 1e3 to 1e6, and together hold the network at the trivial solution against the one
    term that drives it (docs/training.md).

    Conditions at isolated points (``Term.isolated``: every variable fixed) stay at weight 1, outside both groups. The
    network can meet a condition at a point exactly, and then its gradient, and ``sigma``, go to zero: its weight
    grew to 1e3-1e7 and the equations stalled or drifted away (docs/training.md, "Conditions at points").
    """

    name = "inverse_dirichlet_grouped"

    def groups(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """The equations in one group; the conditions not at isolated points and the data in the other."""
        return two_groups(self, losses)


class SplitInverseDirichlet(InverseDirichlet):
    """Inverse Dirichlet with the data apart from the conditions: the equations, the conditions, the data.

    Groups: the equations (``pde:*``, together, or each alone when ``per_equation``), the conditions not at isolated
    points together, the data sets together; conditions at isolated points stay at weight 1, as under the default.
    With ``cap_data``, after every update the data's weight is lowered to the smallest weight of the active equations
    and conditions (those at isolated points, at 1, included) where it is above it: the data never outweigh an exact
    constraint (docs/training.md, "Data with noise").
    """

    per_equation = False
    cap_data = False

    def groups(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """The equations (pooled or each alone), the conditions not at isolated points, the data."""
        out: dict[str, list[str]] = {}
        for k in losses:
            if self.isolated[k]:
                continue
            kind = self.kind[k]
            if kind == Kind.PDE:
                group = k if self.per_equation else "equations"
            else:
                group = "data" if kind == Kind.DATA else "conditions"
            out.setdefault(group, []).append(k)
        return out

    def update(self, losses: Mapping[str, torch.Tensor], grads: Grads | None = None) -> None:
        """The inverse Dirichlet update of the groups; then, with ``cap_data``, the data at most every other term."""
        super().update(losses, grads)
        others = [self.weights[k] for k in losses if self.kind[k] != Kind.DATA]
        if self.cap_data and others:
            ceiling = min(others)
            for k in losses:
                if self.kind[k] == Kind.DATA:
                    self.weights[k] = min(self.weights[k], ceiling)


class EquationInverseDirichlet(SplitInverseDirichlet):
    """Every equation its own group, the conditions pooled, the data pooled (issue #27's per-equation option).

    With one equation, no condition off isolated points and one data set (an ODE's inverse problem) this is the
    grouped rule with the data apart, term for term.
    """

    name = "inverse_dirichlet_equations"
    per_equation = True


class DataCappedInverseDirichlet(SplitInverseDirichlet):
    """The grouped rule's groups with the data apart, and the data never above the other terms.

    Inverse Dirichlet gives a term whose gradient is small a large weight. Once the data are fitted (a data-only
    stage fits them first) their gradient is small, so their weight climbs to 1e3-1e5 against the equations; with
    noisy readings the network then follows the noise and leaves the equations unfitted, and the second phase keeps
    that balance (its weights frozen). Held at most at the smallest weight of the equations and conditions, the
    data are fitted the way a least-squares fit of the equations' solutions fits them. Without data the groups are
    the grouped rule's, so a forward problem trains exactly as under ``inverse_dirichlet_grouped``.
    """

    name = "inverse_dirichlet_data_capped"
    cap_data = True


class GroupedCappedInverseDirichlet(SplitInverseDirichlet):
    """The default: the grouped rule's two groups (the equations; the conditions with the data), the data capped.

    Every term of a group shares its weight as under :class:`GroupedInverseDirichlet`; after every update the data's
    weight is lowered, where it is above it, to the smallest weight of the active equations and conditions (those at
    isolated points, at 1, included), as under :class:`DataCappedInverseDirichlet`. The two differ where conditions off
    isolated points and data are both present (heat_inverse, Kovasznay's velocity data): there the capped rule gives
    the conditions a vote of their own, and the equations' weight can climb to about 1,000 while the conditions and
    the data stay at 1, so the network meets the equation with a wrong unknown (docs/training.md, "Where three
    groups fail"). Here the data's gradient joins the conditions', as in the seed authors' ``L_r + lambda L_bc``.
    """

    name = "inverse_dirichlet_grouped_capped"
    cap_data = True

    def groups(self, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
        """The equations in one group; the conditions not at isolated points and the data in the other."""
        return two_groups(self, losses)


def two_groups(balancer: Balancer, losses: Mapping[str, torch.Tensor]) -> dict[str, list[str]]:
    """The grouped rules' groups of the terms in ``losses``: ``equations`` (``pde:*``) and ``constraints`` (the
    conditions and the data), each without the conditions at isolated points (which keep weight 1)."""  # noqa: D205, D209
    out: dict[str, list[str]] = {}
    for k in losses:
        if not balancer.isolated[k]:
            out.setdefault("equations" if balancer.kind[k] == Kind.PDE else "constraints", []).append(k)
    return out


def _summed(per_term: Sequence[Sequence[torch.Tensor | None]]) -> list[torch.Tensor | None]:
    """Parameter-wise sum of several terms' gradient lists (None where no term has a gradient; one list as it is)."""
    if len(per_term) == 1:
        return list(per_term[0])
    out: list[torch.Tensor | None] = []
    for parts in zip(*per_term, strict=True):
        present = [g for g in parts if g is not None]
        out.append(torch.stack(present).sum(0) if present else None)
    return out


def sum_gradients(
    losses: Mapping[str, torch.Tensor], sums: Mapping[str, Sequence[str]], params: Sequence[torch.Tensor]
) -> dict[str, list[torch.Tensor]]:
    """``{name: gradient of the sum of the losses of sums[name]}`` over ``params``, the graph kept for later passes.

    Zeros where no loss of a sum reaches a parameter (or none requires grad). One backward pass per sum: in exact
    arithmetic the sum of its terms' gradients.
    """
    found: dict[str, list[torch.Tensor]] = {}
    for name, members in sums.items():
        parts = [losses[k] for k in members if losses[k].requires_grad]
        grads: Sequence[torch.Tensor | None] = (None,) * len(params)
        if parts:
            grads = torch.autograd.grad(sum(parts[1:], parts[0]), params, retain_graph=True, allow_unused=True)
        found[name] = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params, strict=True)]
    return found


def gradient_std(grads: Sequence[torch.Tensor | None]) -> float:
    """The unbiased standard deviation of a term's concatenated gradient (0 when it has fewer than 2 entries)."""
    flat = _flat(grads)
    if flat is None or flat.numel() < 2:
        return 0.0
    return float(torch.std(flat, correction=1))


class MaxAvg(Balancer):
    """Learning-rate annealing (Wang, Teng & Perdikaris 2021), as in the authors' and the seed authors' code.

    ``lambda_hat_k = max |grad sum(L_pde)| / mean |grad (lambda_k L_k)|``: the mean is over the gradient of the
    *weighted* term (the reference codes differentiate ``lambda_k * L_k``), so the weight settles where
    ``lambda_k^2 = max / mean |grad L_k|``. PDE terms keep 1.
    """

    name = "max_avg"
    uses_grads = True
    weighted = True

    def update(self, losses: Mapping[str, torch.Tensor], grads: Grads | None = None) -> None:
        """Update every non-PDE term from ``max |grad sum(L_pde)| / mean |grad lambda_k L_k|``."""
        super().update(losses, grads)
        pde = [_flat(grads[k]) for k in losses if self.kind[k] == Kind.PDE]
        pde = [g for g in pde if g is not None]
        if not pde:
            return
        top = float(torch.stack(pde).sum(0).abs().max()) if len(pde) > 1 else float(pde[0].abs().max())
        targets = {}
        for k in losses:
            flat = None if self.kind[k] == Kind.PDE else _flat(grads[k])
            mean = 0.0 if flat is None else float(flat.abs().mean())
            if self.weighted:
                mean *= self.weights[k]
            if mean > 0.0 and math.isfinite(mean) and top > 0.0:
                targets[k] = top / mean
        self.moving_average(targets)


class MaxAvgUnweighted(MaxAvg):
    """pdec's earlier max/avg variant: the mean gradient of the *unweighted* term, ``max / mean |grad L_k|``.

    Its weight settles at the square of :class:`MaxAvg`'s. Kept for comparison; it over-weights conditions that are
    nearly satisfied (see docs/training.md).
    """

    name = "max_avg_unweighted"
    weighted = False


class ReLoBRaLo(Balancer):
    """Relative loss balancing with random lookback (Bischof & Kraus 2021), updated every step.

    ``bal(t, t') = m softmax_k(L_k(t) / (T L_k(t') + EPS))``;
    ``lambda <- rho ALPHA lambda + (1 - rho) ALPHA bal(t, 0) + (1 - ALPHA) bal(t, t - 1)`` with
    ``rho ~ Bernoulli(EXPECTED_RHO)``. As in the authors' code, the first update keeps lambda = 1 and records the
    reference losses, the second uses ``alpha = 0`` (lambda jumps to ``bal(t, t - 1)``) and ``rho = 1``, and the
    default rule applies from the third on. ALPHA, TEMPERATURE, EXPECTED_RHO and EPS are the authors' published
    defaults (not ``settings.alpha``, which belongs to the gradient-based strategies).
    """

    name = "relobralo"
    ALPHA = 0.999
    TEMPERATURE = 0.1
    EXPECTED_RHO = 0.99
    EPS = 1e-7

    def __init__(self, terms: Mapping[str, Term] | Sequence[str], settings: Settings) -> None:
        super().__init__(terms, settings)
        self.rng = np.random.default_rng(settings.seed)
        self.initial: dict[str, float] = {}
        self.previous: dict[str, float] = {}
        self.calls = 0

    def due(self, step: int) -> bool:
        """Every step (the update only needs loss values)."""
        return True

    def update(self, losses: Mapping[str, torch.Tensor], grads: Grads | None = None) -> None:
        """Update from the ratios of the current losses to the previous and the initial ones."""
        super().update(losses, grads)
        now = {k: float(v.detach()) if hasattr(v, "detach") else float(v) for k, v in losses.items()}
        if self.calls == 0 or any(k not in self.initial for k in now):
            self.initial = {**self.initial, **now}
            self.previous = {**self.previous, **now}
            self.calls = 1
            return
        alpha = 0.0 if self.calls == 1 else self.ALPHA
        rho = 1.0 if self.calls == 1 else float(self.rng.random() < self.EXPECTED_RHO)
        to_initial = self._balance(now, self.initial)
        to_previous = self._balance(now, self.previous)
        for k in now:
            hist = rho * self.weights[k] + (1.0 - rho) * to_initial[k]
            self.weights[k] = alpha * hist + (1.0 - alpha) * to_previous[k]
        self.previous = {**self.previous, **now}
        self.calls += 1

    def _balance(self, now: Mapping[str, float], then: Mapping[str, float]) -> dict[str, float]:
        """``m softmax(L(t) / (T L(t') + EPS))`` over the terms of ``now``."""
        ratio = np.array([now[k] / (self.TEMPERATURE * then[k] + self.EPS) for k in now])
        e = np.exp(ratio - ratio.max())
        return dict(zip(now, len(now) * e / e.sum(), strict=True))

    def reset(self) -> None:
        """Weights back to 1; the lookback and the warm-up restart from the next losses."""
        super().reset()
        self.initial, self.previous, self.calls = {}, {}, 0

    def state_dict(self) -> dict[str, Any]:
        """Weights, lookback losses, the update count and the Bernoulli generator's state."""
        return {
            **super().state_dict(),
            "initial": dict(self.initial),
            "previous": dict(self.previous),
            "calls": self.calls,
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        super().load_state_dict(state)
        self.initial, self.previous = dict(state["initial"]), dict(state["previous"])
        self.calls = int(state.get("calls", 2))
        self.rng.bit_generator.state = state["rng"]


def make_balancer(terms: Mapping[str, Term] | Sequence[str], settings: Settings) -> Balancer:
    """Return the balancer named by ``settings.weighting`` (pdec.core.registry.WEIGHTINGS) for ``terms``.

    ``terms`` is ``{name: Term}`` (or, for tests and tools, the term names).
    """
    return WEIGHTINGS.load(settings.weighting)(terms, settings)


def _describe(terms: Mapping[str, Term] | Sequence[str]) -> tuple[dict[str, Kind], dict[str, str], dict[str, bool]]:
    """Kind, bare name and ``isolated`` per term, from the Term records (or, given only names, their prefixes)."""
    if isinstance(terms, Mapping):
        records = terms.values()
        return (
            {t.name: t.kind for t in records},
            {t.name: t.bare for t in records},
            {t.name: t.isolated for t in records},
        )
    parts = {k: k.partition(":") for k in terms}
    kind = {
        k: Kind(head) if sep and head in Kind._value2member_map_ else Kind.BC for k, (head, sep, _) in parts.items()
    }
    return kind, {k: tail or head for k, (head, _, tail) in parts.items()}, dict.fromkeys(parts, False)
