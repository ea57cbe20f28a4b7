"""Time marching: the time interval split into windows, trained one after another, each by a network of its own.

``windows = N`` in the train block splits ``[t0, T]`` into N equal windows (Wight & Zhao 2020; Krishnapriyan et al.
2021, "sequence-to-sequence"; Wang et al. 2023, the expert's guide). Window ``k`` is the spec on ``[t_k, t_k+1]``:
its network sees the window's time scaled onto ``[-1, 1]``, so a solution that turns over many times in ``[t0, T]``
turns over a few times in each window. Every initial value is exact (the front end marks it so, pdec.language.symbolic):
window 0 takes the spec's, and window ``k`` takes window ``k - 1``'s solution at ``t_k``, ``u = u_{k-1}(x, t_k) +
d(t) N_k(x, t)``, so the pieces join continuously by construction. Each window trains for the whole budget
(``adam`` and ``iterations`` are per window) with its own points, weights and causal bins.

The run directory holds one run directory per window (``window-1`` ...) and, at its top, the joined network
(:class:`Marched`), its metrics over the whole interval, the joined history and the plots. A run stopped in window
``k`` resumes there: the finished windows are loaded, not trained again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import CompiledProblem
from pdec.compiler.driver import compile as compile_problem
from pdec.core.settings import Settings
from pdec.nn.windows import Marched, chain, freeze, window_problem
from pdec.run.results import (
    CHECKPOINT,
    HISTORY,
    METRICS,
    History,
    Result,
    Solution,
    load_checkpoint,
    plot_run,
    save_checkpoint,
    write_json,
)
from pdec.train import checkpoint, metrics
from pdec.train.console import main_process, say
from pdec.train.trainer import Trainer

WINDOW_DIR = "window-{}"


def train_windows(
    compiled: CompiledProblem, settings: Settings, run_dir: Path, resume: bool, options: Mapping[str, Any]
) -> Result:
    """Train window after window; return the Result of the joined network over the whole interval.

    ``options`` are the trainer's (quiet, callback, plots). On resume, finished windows are loaded and the
    interrupted one continues from its checkpoint.
    """
    problem, n = compiled.problem, settings.windows
    windows = [compile_problem(window_problem(problem, k, n)) for k in range(n)]
    marched = chain(problem, windows, settings, torch.device(settings.device), compiled.dtype)
    t_edges = marched.edges
    quiet = bool(options.get("quiet"))
    if not resume:
        checkpoint.create_run_dir(run_dir, compiled.spec.text, settings)
    trainers = []
    for k, (w, net) in enumerate(zip(windows, marched.nets, strict=True)):
        sub = run_dir / WINDOW_DIR.format(k + 1)
        trainer = Trainer(w, settings, sub, net=net, resume_dir=run_dir, **options)
        trainers.append(trainer)
        saved = load_checkpoint(sub) if (sub / CHECKPOINT).is_file() else None
        if saved is not None:
            trainer.resume(saved)
            if saved.get("finished"):
                freeze(net)
                continue
        else:
            checkpoint.create_run_dir(sub, w.spec.text, settings)
        say(f"window {k + 1}/{n}: {compiled.time} in [{t_edges[k]:.6g}, {t_edges[k + 1]:.6g}]", quiet)
        result = trainer.run()
        freeze(net)
        if result.interrupted:
            return result
    return finish(compiled, settings, run_dir, marched, trainers, bool(options.get("plots", True)), quiet)


def finish(compiled: CompiledProblem, settings: Settings, run_dir: Path, marched: Marched, trainers: Sequence[Trainer],
           plots: bool, quiet: bool) -> Result:
    """The joined run: metrics over the whole interval, the joined history, the checkpoint and the plots."""
    device = next(marched.parameters()).device

    def predict(points: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(points, dtype=float), dtype=compiled.dtype, device=device)
            return marched(x).cpu().double().numpy()

    tensor = lambda a: torch.as_tensor(np.asarray(a, dtype=float), dtype=compiled.dtype, device=device)  # noqa: E731
    evaluation = metrics.evaluation_set(compiled, compiled.bounds, settings.eval_points, tensor)
    history = joined_history(trainers)
    found = {
        "steps": sum(t.state.step for t in trainers),
        "windows": len(trainers),
        "edges": list(marched.edges),
        "errors": evaluation.errors(predict) if evaluation is not None else {},
        **window_metrics(trainers),
        "wall_time": sum(t.state.elapsed for t in trainers),
        "device": str(device),
        "dtype": settings.dtype,
        "torch_threads": torch.get_num_threads(),
        "unknowns": {},
        "unknown_errors": {},
    }
    if main_process():
        write_json(run_dir / METRICS, found)
        history.write_csv(run_dir / HISTORY)
        last = trainers[-1]
        meta = {**checkpoint.meta(last.setup, last.state), "plain": False, "windows": len(trainers), "part_of": None}
        meta["bounds"] = {v: list(b) for v, b in compiled.bounds.items()}  # the whole interval
        state = {"meta": meta, "net": marched.state_dict(), "unknowns": {}, "unknowns_floats": {},
                 "history": history.flattened(), "step": found["steps"], "finished": True}
        save_checkpoint(run_dir / CHECKPOINT, state)
        if plots and evaluation is not None:
            e = evaluation
            predicted = predict(e.points)[:, e.columns]
            plot_run(run_dir, history, Solution(tuple(compiled.variables), e.fields, e.points, predicted, e.values), {})
    text = ", ".join(f"{k} {v:.3e}" for k, v in found["errors"].items())
    say(f"done: {len(trainers)} windows, {found['steps']} steps in {found['wall_time']:.1f} s"
        + (f", relative L2 error {text}" if text else "") + f"; run directory {run_dir}", quiet)
    parameters = {name: compiled.bounds[name] for name in getattr(compiled, "parameters", ())}
    return Result(marched, tuple(compiled.variables), tuple(compiled.fields), {}, history, found, run_dir, settings,
                  parameters=parameters)


def joined_history(trainers: Sequence[Trainer]) -> History:
    """The windows' histories one after another: steps counted from the first window's, a ``window`` column (1...)."""
    rows, offset = [], 0
    for k, t in enumerate(trainers, start=1):
        rows += [dataclasses.replace(row, step=row.step + offset, window=k) for row in t.state.history.rows]
        offset += t.state.step
    return History(rows)


def window_metrics(trainers: Sequence[Trainer]) -> dict[str, Any]:
    """Each window's errors and final losses (from its metrics.json), and its warnings named by window."""
    found = [json.loads(p.read_text()) if (p := t.setup.run_dir / METRICS).is_file() else {} for t in trainers]
    return {
        "window_errors": [w.get("errors", {}) for w in found],
        "losses": [w.get("losses", {}) for w in found],
        "warnings": [f"window {k}: {m}" for k, w in enumerate(found, start=1) for m in w.get("warnings", [])],
    }


__all__ = ["train_windows"]
