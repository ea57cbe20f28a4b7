"""Training state: the typed records a run's helpers (checkpoint, metrics, inverse) receive instead of the Trainer.

:class:`Setup` is what a run trains and where its files go, fixed for the run; :class:`TrainState` is what it holds
and its checkpoint saves (network, unknowns, optimiser, balancer, kept iterate, history, phase, step, precision,
learning-rate scale, rollbacks, time); :class:`Objective` is how it computes its losses. The
:class:`pdec.train.trainer.Trainer` owns one of each; a helper's signature names the records it reads or writes,
so what it may touch shows there. The torch random generator's state, which the checkpoint saves too, is torch's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pdec.compiler.driver import CompiledProblem
from pdec.compiler.unknowns import Unknowns
from pdec.core.settings import Settings
from pdec.run.history import History
from pdec.train.balance import Balancer
from pdec.train.best import BestIterate
from pdec.train.distributed import Shards

Points = Mapping[str, torch.Tensor]  # point-set name -> points [N, d]


@dataclass(frozen=True)
class Setup:
    """What a training run trains and where its files go: fixed for the run.

    Attributes:
        compiled: the compiled problem (its terms, point sets, unknowns, spec).
        settings: the resolved settings.
        run_dir: where the run's files go.
        resume_dir: where a stop resumes (a time window's run: the marched run's directory).
        device: where the network lives.
        world: how many processes train it (a resume needs as many).
        quiet: no progress bar and no summary.
    """

    compiled: CompiledProblem
    settings: Settings
    run_dir: Path
    resume_dir: Path
    device: torch.device = torch.device("cpu")
    world: int = 1
    quiet: bool = True

    @property
    def terms(self) -> tuple[str, ...]:
        """Every term's name, in spec order."""
        return tuple(self.compiled.terms)


@dataclass
class TrainState:
    """What a training run holds and its checkpoint saves; the trainer and the helpers update it in place.

    Attributes:
        net: the network being trained.
        unknowns: the unknowns (constants and functions) being trained with it.
        optimizer: the current phase's optimiser.
        balancer: the loss weights.
        best: the lowest-loss Adam iterate (pdec.train.best).
        dtype: the weights' precision now (float64 after a switch for the second phase).
        history: one row per step.
        phase: ``adam`` or the second phase's optimiser.
        step: the steps done (Adam steps, then second-phase iterations).
        lr_scale: the learning-rate factor rollbacks left (halved by each).
        rollbacks: how many times a NaN/Inf rolled the run back.
        elapsed: the seconds spent training.
        active: the terms the last step trained (None before the first step).
        snapshot: the in-memory copy a rollback returns to (not saved in the checkpoint).
    """

    net: torch.nn.Module
    unknowns: Unknowns
    optimizer: torch.optim.Optimizer
    balancer: Balancer
    best: BestIterate
    dtype: torch.dtype
    history: History = field(default_factory=History)
    phase: str = "adam"
    step: int = 0
    lr_scale: float = 1.0
    rollbacks: int = 0
    elapsed: float = 0.0
    active: tuple[str, ...] | None = None
    snapshot: dict[str, Any] | None = None


@dataclass(frozen=True)
class Objective:
    """How a run computes its losses: what the frozen-network fit and the identifiability check call.

    Attributes:
        losses: ``(points, terms) -> {term: mean residual^2}`` (the trainer's, causal weights included).
        model: the network the losses call (over several processes, the data-parallel wrapper of ``net``).
        shards: the processes sharing the points (their losses and gradients all-reduced).
    """

    losses: Callable[[Points, tuple[str, ...]], dict[str, torch.Tensor]]
    model: torch.nn.Module
    shards: Shards


__all__ = ["Objective", "Points", "Setup", "TrainState"]
