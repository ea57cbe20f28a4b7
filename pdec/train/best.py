"""The lowest-loss iterate: a run that ends with Adam returns it instead of its last step (``keep_best``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from pdec.core.settings import Settings
from pdec.train.causal import Causal


class BestIterate:
    """The Adam iterate with the lowest loss, which a run that ends with Adam returns instead of its last step.

    Adam at a fixed learning rate ends wherever its last step lands: on DeepXDE's 1-D Poisson problems the last
    iterate's loss was up to 35 times the lowest one (docs/training.md, "The iterate a run returns"). The trainer
    offers each iterate before updating it, with its per-term losses; an iterate is kept when its weighted loss is
    below the kept one's, both weighted by the current weights (inverse Dirichlet moves them). Losses on other
    points or other terms do not compare: a new resampling round or stage starts afresh (``key``). After the second
    phase nothing is kept: its line search (or damping) accepts no step that raises the loss. Off with
    ``keep_best = false``.

    Under causal weights (``causal``, pdec.train.causal) an equation's training loss is the causal one, which can score
    an iterate that is worse at every time below a better one (larger early residuals close the later weights). The
    offers are then scored on the plain ``sum_k lambda_k mean(r_k^2)``: the equations' plain mean squares, which the
    :class:`~pdec.train.causal.Causal` records at each evaluation, replace their causal losses.

    Args:
        settings: the run's settings (``keep_best``, ``adam`` and the steps after Adam).
        causal: the run's causal weighting (None without one): the source of the equations' plain losses.
    """

    def __init__(self, settings: Settings, causal: Causal | None = None) -> None:
        self.on = settings.keep_best and settings.iterations == 0 and settings.adam > 0  # Adam ends the run
        self.causal = causal
        self.returned: int | None = None  # the step restored at the end, when not the last one
        self.key: tuple | None = None
        self.losses: dict[str, float] | None = None
        self.step = 0  # Adam updates applied to the kept parameters
        self.params: list[torch.Tensor] = []

    def offer(self, key: tuple, step: int, losses: Mapping[str, float], weights: Mapping[str, float], params) -> None:
        """Keep ``params`` (before update ``step``) when their loss is the lowest on this ``key``'s points and terms.

        ``losses`` are the ones the trainer just evaluated; under causal weights their equations' causal losses are
        replaced by the plain mean squares of the same evaluation (``causal.plain``).
        """
        if not self.on:
            return
        if self.causal is not None:
            plain = self.causal.plain
            losses = {k: float(plain[k]) if k in plain else v for k, v in losses.items()}
        if key != self.key:
            self.key, self.losses = key, None
        if self.losses is not None:
            kept = sum(weights[k] * v for k, v in self.losses.items())
            if sum(weights[k] * v for k, v in losses.items()) >= kept:
                return
        self.losses, self.step = dict(losses), step - 1
        if [k.device for k in self.params] == [p.device for p in params]:  # early on most steps are new lows: reuse
            for kept, p in zip(self.params, params, strict=True):
                kept.copy_(p.detach())
        else:
            self.params = [p.detach().clone() for p in params]

    def restore(self, params, last: int) -> int | None:
        """Copy the kept parameters into ``params`` unless they are the last iterate (``last`` updates); their step."""
        if self.losses is None or self.step == last:
            return None
        with torch.no_grad():
            for p, kept in zip(params, self.params, strict=True):
                p.copy_(kept)
        self.returned = self.step
        return self.step

    def state_dict(self) -> dict[str, Any]:
        """A checkpoint-ready copy (plain types and tensors only)."""
        key, kept = list(self.key or ()), self.losses
        return {"key": key, "losses": kept, "step": self.step, "params": self.params, "returned": self.returned}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        """Take back what ``state_dict`` gave."""
        key = saved["key"]
        self.key = (key[0], tuple(key[1])) if key else None
        self.losses = dict(saved["losses"]) if saved["losses"] is not None else None
        self.step, self.params, self.returned = int(saved["step"]), list(saved["params"]), saved.get("returned")


__all__ = ["BestIterate"]
