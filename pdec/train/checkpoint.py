"""Checkpoints: a run's TrainState -> the run directory's checkpoint, in-memory snapshots, rollback and resume.

The functions read and write a :class:`pdec.train.state.TrainState` (network, unknowns, optimiser, balancer, step,
history) and read the run's :class:`pdec.train.state.Setup`; the torch random generator's state is saved and restored
too. Switching to the second phase is the trainer's (``enter_phase``: it casts the network and builds the optimiser).
Only rank 0 writes files (pdec.train.console.main_process).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from pdec.core.errors import PdecRunError
from pdec.core.intervals import is_log
from pdec.core.settings import Settings
from pdec.run.history import History
from pdec.run.results import CHECKPOINT, HISTORY, RESUME_KEYS, SETTINGS, SPEC, save_checkpoint, write_json
from pdec.train.console import main_process, say
from pdec.train.state import Setup, TrainState

MAX_ROLLBACKS = 8
EnterPhase = Callable[[str], None]  # the trainer's switch to a second phase, by name (pdec.train.trainer.Trainer)


def create_run_dir(run_dir: Path, spec_text: str, settings: Settings) -> None:
    """Create the run directory with the spec copy and the resolved settings; refuse to overwrite a run."""
    if (run_dir / CHECKPOINT).exists():
        raise PdecRunError(
            f"'{run_dir}' already holds a run",
            hint=f"continue it with --resume {run_dir}, or choose another --out",
        )
    if not main_process():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SPEC).write_text(spec_text)
    write_json(run_dir / SETTINGS, settings.to_dict())


def meta(setup: Setup, state: TrainState) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the network without the compiler."""
    c, settings = setup.compiled, setup.settings
    return {
        "variables": list(c.variables),
        "fields": list(c.fields),
        "terms": list(setup.terms),
        "bounds": {v: list(c.bounds[v]) for v in c.variables},
        "parameters": list(getattr(c, "parameters", ())),  # a family's parameters: the last of the variables
        "log_parameters": [v for v in c.variables if is_log(c.bounds[v])],  # those declared `log`
        "layers": list(settings.layers),
        "activation": settings.activation,
        "dtype": str(state.dtype).removeprefix("torch."),  # the weights' precision now (float64 after the switch)
        "plain": type(state.net).__name__ == "MLP" and getattr(state.net, "embedding", None) is None,
        "spec_path": spec_path(c.spec.path),
        "torch": str(torch.__version__),  # a plain str: loadable with weights_only=True
        "world_size": setup.world,  # the processes that trained it (a resume needs as many)
        "part_of": None if setup.resume_dir == setup.run_dir else str(setup.resume_dir),  # a time window's run
    }


def spec_path(path: str) -> str:
    """The spec's path as the run saw it, absolute for a file (its relative data paths then resolve from anywhere).

    A spec given as a string (``<string>``) keeps its name: its data paths are relative to the working directory.
    """
    return str(Path(path).resolve()) if Path(path).is_file() else path


def saved(setup: Setup, state: TrainState, finished: bool = False) -> dict[str, Any]:
    """The checkpoint: model, unknowns, optimiser, weights state, RNG state, step and history."""
    return {
        "meta": meta(setup, state),
        "net": state.net.state_dict(),
        "unknowns": state.unknowns.state_dict(),
        "unknowns_floats": state.unknowns.floats(),
        "optimizer": state.optimizer.state_dict(),
        "phase": state.phase,
        "balancer": state.balancer.state_dict(),
        "step": state.step,
        "lr_scale": state.lr_scale,
        "rollbacks": state.rollbacks,
        "elapsed": state.elapsed,
        "history": state.history.packed(),
        "rng": {"torch": torch.get_rng_state()},
        "best": state.best.state_dict(),
        "finished": finished,
    }


def save(setup: Setup, state: TrainState, finished: bool = False) -> None:
    """Write the checkpoint and the history CSV (rank 0 only)."""
    if main_process():
        save_checkpoint(setup.run_dir / CHECKPOINT, saved(setup, state, finished))
        state.history.write_csv(setup.run_dir / HISTORY)


def restore(setup: Setup, state: TrainState, checkpoint: Mapping[str, Any], enter_phase: EnterPhase) -> None:
    """Continue from a checkpoint (PdecRunError when it belongs to a different problem); the RNG state too.

    ``state.active`` is left to the caller (the schedule's terms at the restored step).
    """
    missing = [k for k in RESUME_KEYS if k not in checkpoint]
    if missing:
        raise PdecRunError(f"the checkpoint in '{setup.run_dir}' cannot be resumed (missing {', '.join(missing)})")
    found, mine = checkpoint["meta"], meta(setup, state)
    for key in ("variables", "fields", "terms", "layers", "activation"):
        if found[key] != mine[key]:
            raise PdecRunError(
                f"checkpoint {key} {found[key]} do not match this spec's {mine[key]}",
                hint="resume with the spec the run was started from",
            )
    _same_world(found.get("world_size", 1), mine["world_size"])
    _load(state, checkpoint, enter_phase)
    state.rollbacks, state.elapsed = int(checkpoint["rollbacks"]), float(checkpoint["elapsed"])
    state.history = History.unpacked(checkpoint["history"])
    rng = checkpoint.get("rng", {}).get("torch")
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


def _load(state: TrainState, saved: Mapping[str, Any], enter_phase: EnterPhase) -> None:
    """Load the network, unknowns, phase (and its optimiser), balancer, step and lr scale."""
    state.net.load_state_dict(saved["net"])
    state.unknowns.load_state_dict(saved["unknowns"])
    phase = saved["phase"]
    if phase != "adam" and state.phase == "adam":  # the second phase: its precision and optimiser first
        enter_phase(phase)
    state.net.load_state_dict(saved["net"])  # again, now in the phase's precision
    state.unknowns.load_state_dict(saved["unknowns"])
    state.phase = phase
    state.optimizer.load_state_dict(saved["optimizer"])
    state.balancer.load_state_dict(saved["balancer"])
    state.step = int(saved["step"])
    state.lr_scale = float(saved.get("lr_scale", state.lr_scale))
    if saved.get("best"):
        state.best.load_state_dict(saved["best"])


def snapshot(state: TrainState) -> None:
    """Keep an in-memory copy of the state (``state.snapshot``) to roll back to after a NaN/Inf."""
    state.snapshot = copied(
        {
            "net": state.net.state_dict(),
            "unknowns": state.unknowns.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "phase": state.phase,
            "balancer": state.balancer.state_dict(),
            "step": state.step,
            "rows": len(state.history),
            "active": state.active,
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


def rollback(state: TrainState, where: str, enter_phase: EnterPhase) -> None:
    """Restore the last snapshot and halve the learning rate; PdecRunError after MAX_ROLLBACKS.

    ``where`` names the terms whose loss is not finite (pdec.train.metrics.where_not_finite).
    """
    state.rollbacks += 1
    failed = state.step + 1
    if state.rollbacks > MAX_ROLLBACKS or state.snapshot is None:
        raise PdecRunError(
            f"loss {where} is NaN/Inf at step {failed} after {MAX_ROLLBACKS} rollbacks",
            hint="lower lr, train in float64, or check the spec's scaling",
        )
    snap = copy.deepcopy(state.snapshot)
    state.lr_scale *= 0.5
    _load(state, {**snap, "lr_scale": state.lr_scale}, enter_phase)
    if state.phase != "adam":
        for group in state.optimizer.param_groups:
            group["lr"] = state.lr_scale
    state.active = snap["active"]
    state.history.truncate(snap["rows"])
    say(
        f"step {failed}: loss {where} is NaN/Inf; rolled back to step {state.step} and lowered the "
        f"learning rate to x{state.lr_scale:g} (rollback {state.rollbacks}/{MAX_ROLLBACKS})"
    )
