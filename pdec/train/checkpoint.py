"""Checkpoints: a Trainer's state -> the run directory's checkpoint, in-memory snapshots, rollback and resume.

Every function takes the run's :class:`pdec.train.trainer.Trainer` and reads or restores its state (network, unknowns,
optimiser, balancer, step, history, RNG). Only rank 0 writes files (pdec.train.console.main_process).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from pdec.core.errors import PdecRunError
from pdec.run.results import CHECKPOINT, HISTORY, RESUME_KEYS, SETTINGS, SPEC, History, save_checkpoint, write_json
from pdec.train.console import main_process, say

MAX_ROLLBACKS = 8


def create_run_dir(trainer: Any) -> None:
    """Create the run directory with the spec copy and the resolved settings; refuse to overwrite a run."""
    if (trainer.run_dir / CHECKPOINT).exists():
        raise PdecRunError(
            f"'{trainer.run_dir}' already holds a run",
            hint=f"continue it with --resume {trainer.run_dir}, or choose another --out",
        )
    if not main_process():
        return
    trainer.run_dir.mkdir(parents=True, exist_ok=True)
    (trainer.run_dir / SPEC).write_text(trainer.compiled.spec.text)
    write_json(trainer.run_dir / SETTINGS, trainer.settings.to_dict())


def meta(trainer: Any) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the network without the compiler."""
    c = trainer.compiled
    return {
        "variables": list(c.variables),
        "fields": list(c.fields),
        "terms": list(trainer.terms),
        "bounds": {v: list(c.bounds[v]) for v in c.variables},
        "parameters": list(getattr(c, "parameters", ())),  # a family's parameters: the last of the variables
        "layers": list(trainer.settings.layers),
        "activation": trainer.settings.activation,
        "dtype": str(trainer.dtype).removeprefix("torch."),  # the weights' precision now (float64 after the switch)
        "plain": type(trainer.net).__name__ == "MLP" and getattr(trainer.net, "embedding", None) is None,
        "spec_path": spec_path(c.spec.path),
        "torch": str(torch.__version__),  # a plain str: loadable with weights_only=True
        "world_size": trainer.shards.world,  # the processes that trained it (a resume needs as many)
        "part_of": None if trainer.resume_dir == trainer.run_dir else str(trainer.resume_dir),  # a time window's run
    }


def spec_path(path: str) -> str:
    """The spec's path as the run saw it, absolute for a file (its relative data paths then resolve from anywhere).

    A spec given as a string (``<string>``) keeps its name: its data paths are relative to the working directory.
    """
    return str(Path(path).resolve()) if Path(path).is_file() else path


def state(trainer: Any, finished: bool = False) -> dict[str, Any]:
    """The checkpoint: model, unknowns, optimiser, weights state, RNG state, step and history."""
    return {
        "meta": meta(trainer),
        "net": trainer.net.state_dict(),
        "unknowns": trainer.unknowns.state_dict(),
        "unknowns_floats": trainer.unknowns.floats(),
        "optimizer": trainer.optimizer.state_dict(),
        "phase": trainer.phase,
        "balancer": trainer.balancer.state_dict(),
        "step": trainer.step,
        "lr_scale": trainer.lr_scale,
        "rollbacks": trainer.rollbacks,
        "elapsed": trainer.elapsed,
        "history": trainer.history.packed(),
        "rng": {"torch": torch.get_rng_state()},
        "best": trainer.best.state_dict(),
        "finished": finished,
    }


def save(trainer: Any, finished: bool = False) -> None:
    """Write the checkpoint and the history CSV (rank 0 only)."""
    if main_process():
        save_checkpoint(trainer.run_dir / CHECKPOINT, state(trainer, finished))
        trainer.history.write_csv(trainer.run_dir / HISTORY)


def restore(trainer: Any, saved: Mapping[str, Any]) -> None:
    """Continue from a checkpoint (PdecRunError when it belongs to a different problem); the RNG state too."""
    missing = [k for k in RESUME_KEYS if k not in saved]
    if missing:
        raise PdecRunError(f"the checkpoint in '{trainer.run_dir}' cannot be resumed (missing {', '.join(missing)})")
    found, mine = saved["meta"], meta(trainer)
    for key in ("variables", "fields", "terms", "layers", "activation"):
        if found[key] != mine[key]:
            raise PdecRunError(
                f"checkpoint {key} {found[key]} do not match this spec's {mine[key]}",
                hint="resume with the spec the run was started from",
            )
    _same_world(found.get("world_size", 1), mine["world_size"])
    _load(trainer, saved)
    trainer.rollbacks, trainer.elapsed = int(saved["rollbacks"]), float(saved["elapsed"])
    trainer.history = History.unpacked(saved["history"])
    trainer.active = trainer.schedule.active(trainer.step) if trainer.step else None
    rng = saved.get("rng", {}).get("torch")
    if rng is not None:
        torch.set_rng_state(torch.as_tensor(rng, dtype=torch.uint8).cpu())


def _same_world(saved: int, now: int) -> None:
    """PdecRunError unless the run resumes on as many processes as wrote the checkpoint."""
    if int(saved) != now:
        raise PdecRunError(
            f"the checkpoint was written by a run on {saved} process{'es' if saved != 1 else ''}, this run has {now}",
            hint=f"resume with {saved} process{'es' if saved != 1 else ''}"
            + (f" (torchrun --nproc-per-node {saved} ..., or pdec run --nproc {saved})" if saved > 1 else ""),
        )


def _load(trainer: Any, saved: Mapping[str, Any]) -> None:
    """Load the network, unknowns, phase (and its optimiser), balancer, step and lr scale."""
    trainer.net.load_state_dict(saved["net"])
    trainer.unknowns.load_state_dict(saved["unknowns"])
    phase = saved["phase"]
    if phase != "adam" and trainer.phase == "adam":  # the second phase: its precision and optimiser first
        trainer.enter_second_phase(phase)
    trainer.net.load_state_dict(saved["net"])  # again, now in the phase's precision
    trainer.unknowns.load_state_dict(saved["unknowns"])
    trainer.phase = phase
    trainer.optimizer.load_state_dict(saved["optimizer"])
    trainer.balancer.load_state_dict(saved["balancer"])
    trainer.step = int(saved["step"])
    trainer.lr_scale = float(saved.get("lr_scale", trainer.lr_scale))
    if saved.get("best"):
        trainer.best.load_state_dict(saved["best"])


def snapshot(trainer: Any) -> None:
    """Keep an in-memory copy of the state to roll back to after a NaN/Inf."""
    trainer.last_snapshot = copied(
        {
            "net": trainer.net.state_dict(),
            "unknowns": trainer.unknowns.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "phase": trainer.phase,
            "balancer": trainer.balancer.state_dict(),
            "step": trainer.step,
            "rows": len(trainer.history),
            "active": trainer.active,
        }
    )


def copied(value: Any) -> Any:
    """A deep copy of nested dicts, lists and tuples of tensors (cloned) and plain values; 4x faster than deepcopy."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):  # (a state dict's OrderedDict keeps its attributes: copy.copy, then each item)
        new = copy.copy(value)
        new.update((k, copied(v)) for k, v in value.items())
        return new
    if type(value) in (list, tuple):
        return type(value)(copied(v) for v in value)
    return copy.deepcopy(value)


def rollback(trainer: Any, where: str) -> None:
    """Restore the last snapshot and halve the learning rate; PdecRunError after MAX_ROLLBACKS.

    ``where`` names the terms whose loss is not finite (pdec.train.metrics.where_not_finite).
    """
    trainer.rollbacks += 1
    failed = trainer.step + 1
    if trainer.rollbacks > MAX_ROLLBACKS or trainer.last_snapshot is None:
        raise PdecRunError(
            f"loss {where} is NaN/Inf at step {failed} after {MAX_ROLLBACKS} rollbacks",
            hint="lower lr, train in float64, or check the spec's scaling",
        )
    snap = copy.deepcopy(trainer.last_snapshot)
    trainer.lr_scale *= 0.5
    _load(trainer, {**snap, "lr_scale": trainer.lr_scale})
    if trainer.phase != "adam":
        for group in trainer.optimizer.param_groups:
            group["lr"] = trainer.lr_scale
    trainer.active = snap["active"]
    trainer.history.truncate(snap["rows"])
    say(
        f"step {failed}: loss {where} is NaN/Inf; rolled back to step {trainer.step} and lowered the "
        f"learning rate to x{trainer.lr_scale:g} (rollback {trainer.rollbacks}/{MAX_ROLLBACKS})"
    )


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

    def __init__(self, settings: Any, causal: Any = None) -> None:
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
