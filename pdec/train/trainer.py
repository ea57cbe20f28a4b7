"""Training: CompiledProblem -> Result (sample points, build the net, balance the losses, Adam, then a 2nd phase).

``train(compiled, **overrides)`` trains one network (``pdec.fit``, pdec/fit.py, is the API: it adds time marching). A
:class:`Trainer` holds every piece of mutable state (network, unknowns, optimiser, balancer, step, history), so several
runs can live in one process and a data-parallel wrapper can drive one per rank. It reads the compiled problem only
through its typed contract (``terms``, ``point_sets``, ``unknowns``, ``settings``, ``spec``; see
pdec.compiler.driver.CompiledProblem). The other responsibilities live in their own modules: pdec.train.console
(signals, progress, status lines), pdec.train.checkpoint (state, rollback, resume), pdec.train.metrics (evaluation,
errors, plots), pdec.train.inverse (the frozen-network fit, identifiability) and pdec.train.schedule (stages, resampling
rounds, learning-rate decay).

One Adam step ``s`` (1-based)::

    active terms (stages) -> points (resampling round) -> losses {term: mean residual^2}
    -> [update step] the gradients g_s the balancer reads (one per group of terms, or per term); balancer updates
       lambda; backward() of sum_j <p_j, sum_s lambda_s g_sj + the other terms' weighted gradient>
       [other steps] backward of sum_k lambda_k L_k
    -> optimiser step -> history row (and evaluation / checkpoint when due)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shlex
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import CompiledProblem, jacobian_lowering
from pdec.compiler.unknowns import Unknowns
from pdec.core import registry
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings, torch_dtype
from pdec.language.problem import Kind
from pdec.nn.networks import input_range, make_net
from pdec.run.history import Row
from pdec.run.results import METRICS, SETTINGS, SPEC, Result, load_checkpoint, settings_from_dict, write_json
from pdec.train import checkpoint, inverse, metrics, optimizers
from pdec.train.balance import make_balancer, sum_gradients
from pdec.train.best import BestIterate
from pdec.train.causal import make_causal
from pdec.train.console import Console, crossed, deferred_interrupt, main_process, say
from pdec.train.diagnostics import diagnose
from pdec.train.distributed import Shards, from_rank0
from pdec.train.jacobian import ResidualProblem, jacobian_probe, residual_vector
from pdec.train.sampling import SamplingContext, make_sampler
from pdec.train.schedule import schedule
from pdec.train.state import Objective, Setup, TrainState

Callback = Callable[["Trainer", Row], None]  # after each step: the trainer and the step's history row
# Trains a spec's time windows (pdec.train.marching): (compiled, settings, run_dir, resume, options) -> Result.
Marcher = Callable[[CompiledProblem, Settings, Path, bool, Mapping[str, Any]], Result]


def train(
    compiled: CompiledProblem,
    *,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    quiet: bool | None = None,
    callback: Callback | None = None,
    plots: bool = True,
    march: Marcher | None = None,
    **overrides: Any,
) -> Result:
    """Train a compiled problem's network and return its Result (``pdec.fit`` is the API: it adds time marching).

    Args:
        compiled: a CompiledProblem (see docs/architecture.md).
        out: the run directory (default ``runs/<spec stem>-<timestamp>``).
        resume: a run directory to continue from its checkpoint (its saved settings, then ``overrides``).
        quiet: no progress bar and no summary (the bar shows only on an interactive terminal anyway).
        callback: called as ``callback(trainer, row)`` after every step (raise KeyboardInterrupt to stop cleanly).
        plots: write the plots at the end (matplotlib; a few seconds).
        march: trains a spec with time windows, one network per window (pdec.fit passes pdec.train.marching's).
        **overrides: training settings replacing the spec's (``adam=200``, ``weighting="fixed"``, ...).
    """
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / SETTINGS).is_file():
            raise PdecRunError(f"'{run_dir}' is not a run directory", hint="pass a directory `pdec run` created")
        settings = settings_from_dict(json.loads((run_dir / SETTINGS).read_text()))
    else:
        settings = compiled.settings
        run_dir = Path(out) if out is not None else from_rank0(default_run_dir(compiled))
    settings = run_settings(compiled, settings, overrides)
    if settings.causal > 0 and Shards.current().world > 1:  # its per-rank time bins are not all-reduced yet
        raise PdecRunError("causal weights run on one process only", hint="set causal = 0, or run without --nproc")
    if settings.windows > 1:  # time marching drives one Trainer per window: pdec.fit passes it in (pdec.train.marching)
        if march is None:
            raise PdecRunError("a spec with time windows trains one network per window", hint="call pdec.fit(compiled)")
        options = {"quiet": quiet, "callback": callback, "plots": plots}
        return march(compiled, settings, run_dir, resume is not None, options)
    trainer = Trainer(compiled, settings, run_dir, quiet=quiet, callback=callback, plots=plots)
    if resume is not None:
        copy_path = run_dir / SPEC
        if copy_path.is_file() and copy_path.read_text() != compiled.spec.text:
            say(f"warning: the spec differs from the copy in {run_dir}; continuing with the spec given now")
        trainer.resume(load_checkpoint(run_dir))
    else:
        checkpoint.create_run_dir(run_dir, compiled.spec.text, settings)
    return trainer.run()


def run_settings(compiled: Any, settings: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``settings`` with the trainer's ``overrides`` (compile-time ones refused) and the input range resolved."""
    compile_time = (("compile", "compile=True"), ("lowering", "lowering='autograd'"),
                    ("exact_conditions", "exact_conditions=True"), ("windows", "windows=4"))
    for key, example in compile_time:
        if key in overrides:
            raise PdecRunError(
                f"'{key}' is a compile-time setting: the trainer cannot change it",
                hint=f"pass it to the compiler: pdec.compile(spec, {example})",
            )
    if overrides:
        settings = settings.replace(**overrides)
    return settings.replace(inputs=input_range(compiled, settings))  # settings.json records the range used


def default_run_dir(compiled: CompiledProblem) -> Path:
    """``runs/<spec stem>-<YYYYmmdd-HHMMSS>`` (with a numeric suffix if taken)."""
    path = compiled.spec.path
    stem = "spec" if path.startswith("<") else Path(path).stem
    base = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class LossNotFinite(Exception):
    """A loss (or, in the second phase, a parameter) became NaN or Inf; carries the offending terms."""


class Trainer:
    """One training run: its records (:class:`Setup`, :class:`TrainState`, :class:`Objective`) and the loop's machinery.

    ``setup`` is what the run trains and where its files go, ``state`` what it holds and its checkpoint saves
    (network, unknowns, optimiser, balancer, step, history ...); the helpers in pdec.train.checkpoint, metrics and
    inverse receive these records, not the trainer. The trainer adds the sampler, the schedule, the causal weights,
    the evaluation set, the console and the caches of points.

    Args:
        compiled: the CompiledProblem.
        settings: resolved settings.
        run_dir: where the run's files go.
        quiet: suppress the progress bar and the summary (the bar shows only on an interactive terminal).
        callback: ``callback(trainer, row)`` after each step (``row``: a pdec.run.history.Row).
        plots: write the plots when training finishes.
        net, resume_dir: the network to train (default: networks.make_net); where a stop resumes (a window's run's).
    """

    SNAPSHOT_EVERY = 25  # Adam steps between in-memory snapshots for NaN rollback (every second-phase chunk is one)
    # second-phase iterations per optimiser call and history row (a call re-evaluates the loss once); LM: Jacobians
    CHUNK = MappingProxyType({"lbfgs": 10, "bfgs": 10, "ssbfgs": 10, "ssbroyden": 10, "lm": 5})
    DIAGNOSE_EVERY = 500  # steps between checks for stalled terms and extreme weights (pdec.train.diagnostics)

    def __init__(self, compiled: CompiledProblem, settings: Settings, run_dir: Path, quiet: bool | None = None,
                 callback: Callback | None = None, plots: bool = True, net: torch.nn.Module | None = None,
                 resume_dir: Path | None = None) -> None:
        device, dtype = _device(settings.device), torch_dtype(settings.dtype)
        self.sampler, self.shards = make_sampler(compiled, settings), Shards.current()
        resume_dir = Path(run_dir) if resume_dir is None else Path(resume_dir)
        self.setup = Setup(compiled, settings, Path(run_dir), resume_dir, device, self.shards.world, bool(quiet))
        self.callback, self.plots = callback, plots
        self.term = compiled.terms  # name -> Term
        self.terms = tuple(compiled.terms)
        self.sets_of = {t: tuple(n for n, ps in compiled.point_sets.items() if t in ps.terms) for t in self.terms}
        unknowns = copy.deepcopy(compiled.unknowns).renew(settings).to(device, dtype)
        self.schedule = schedule(self.term, settings, bool(unknowns.specs))
        net = make_net(compiled, settings, device, dtype) if net is None else net
        self.net_params = list(net.parameters())
        self.params = self.net_params + list(unknowns.parameters())
        self.residual_problem = ResidualProblem(compiled, net, unknowns, self.terms, self.sets_of)  # for LM
        self.model = self.shards.wrap(net)  # the network the losses call: DDP averages its gradients
        self.causal = make_causal(compiled, settings)  # None unless `causal` > 0
        optimizer = adam(self.net_params, unknowns, settings.lr, device)
        balancer, best = make_balancer(self.term, settings), BestIterate(settings, self.causal)
        self.state = TrainState(net, unknowns, optimizer, balancer, best, dtype)
        self.objective = Objective(self.losses, self.model, self.shards)
        self.targets = {k: self.tensor(self.shards.take(k, v)) for k, v in self.sampler.targets().items()}
        self.evaluation = metrics.evaluation_set(compiled, self.sampler.bounds, settings.eval_points, self.tensor)
        self.console = Console(bool(quiet), self.terms, settings.adam + settings.iterations)
        self.errors: dict[str, float] = {}  # the latest evaluation
        self._cache: tuple[Any, dict[str, torch.Tensor]] | None = None
        self._chunk: tuple[Any, dict[float, Any]] = (None, {})  # last chunk's points, loss -> its per-term losses

    @property
    def settings(self) -> Settings:
        """The run's settings (``setup.settings``)."""
        return self.setup.settings

    @property
    def compiled(self) -> CompiledProblem:
        """The compiled problem (``setup.compiled``)."""
        return self.setup.compiled

    @property
    def resume_dir(self) -> Path:
        """Where a stop resumes (``setup.resume_dir``; a time window's run: the marched run's directory)."""
        return self.setup.resume_dir

    def tensor(self, array: Any) -> torch.Tensor:
        """An array as a tensor on the run's device and dtype."""
        return torch.as_tensor(np.asarray(array, dtype=float), dtype=self.state.dtype, device=self.setup.device)

    def resume(self, saved: Mapping[str, Any]) -> None:
        """Continue from a checkpoint (pdec.train.checkpoint.restore): state, RNG, the schedule's terms at its step."""
        checkpoint.restore(self.setup, self.state, saved, self.enter_second_phase)
        self.state.active = self.schedule.active(self.state.step) if self.state.step else None

    def enter_second_phase(self, method: str | None = None) -> None:
        """Switch to the second phase (``method``: the setting's, or the next that can run here, said once).

        The run is cast to the phase's precision (``dtype = auto``: float64) and the phase's optimiser built.
        """
        if (method or self.settings.optimizer) == "lm":  # its Jacobian needs the forward mode in every point set
            lowered = jacobian_lowering(self.residual_problem.compiled)
            self.residual_problem = dataclasses.replace(self.residual_problem, compiled=lowered)
        if method is None:
            size, world = sum(p.numel() for p in self.params), self.shards.world
            points = self.cached_points() or self.points(1, self.terms)
            probe = lambda: jacobian_probe(self.residual_problem, points, self.targets_for(points))  # noqa: E731
            method, why = optimizers.runnable(self.settings.optimizer, size, probe, world, self.causal is not None)
            say(why, self.setup.quiet or not why)
        state = self.state
        state.phase = method
        if self.settings.dtype == "auto" and state.dtype != torch.float64:  # cast in place; points and data anew
            state.dtype = torch.float64
            state.net.to(state.dtype)
            state.unknowns.to(state.dtype)
            self.targets = {k: self.tensor(self.shards.take(k, v)) for k, v in self.sampler.targets().items()}
            self._cache = None  # the same points drawn again at full precision (as a resumed run draws them)
        state.optimizer = registry.OPTIMIZERS.load(state.phase)(self.params, self.CHUNK[state.phase], state.lr_scale)

    @property
    def total_steps(self) -> int:
        """Adam steps plus second-phase iterations."""
        return self.settings.adam + self.settings.iterations

    # --------------------------------------------------------------------------------------------------- one step

    def points(self, step: int, active: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The points of the active terms' point sets for the resampling round of ``step`` (cached)."""
        names = frozenset(n for t in active for n in self.sets_of[t])
        key = (self.schedule.round(step), names)
        if self._cache is None or self._cache[0] != key:
            context = SamplingContext(self.state.net, self.compiled, self.state.unknowns, self.setup.run_dir)
            drawn = self.sampler.draw(key[0], names, context)
            self._cache = (key, {n: self.tensor(self.shards.take(n, x)) for n, x in drawn.items()})
        return self._cache[1]

    def cached_points(self) -> dict[str, torch.Tensor] | None:
        """The points drawn last (None before the first draw)."""
        return None if self._cache is None else self._cache[1]

    def targets_for(self, points: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The observed values of the data point sets among ``points``."""
        return {k: v for k, v in self.targets.items() if k in points}

    def losses(self, points: Mapping[str, torch.Tensor], active: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """``{term: mean(residual ** 2)}`` for the active terms."""
        residuals = self.compiled.evaluate(self.model, points, self.targets_for(points), self.state.unknowns.values())
        if missing := [t for t in active if t not in residuals]:
            raise PdecRunError(f"the compiled problem returned no residual for {', '.join(missing)}")
        losses = {t: self.shards.mean_square(residuals[t], self.sets_of[t]) for t in active}
        if self.causal is not None:  # the equations' points weighted by time causality (pdec.train.causal)
            losses.update(self.causal.losses(residuals, points, active))
        return losses

    def weighted(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``sum_k lambda_k L_k`` with the balancer's (constant) weights."""
        w = self.state.balancer.weights
        zero = torch.zeros((), dtype=self.state.dtype, device=self.setup.device)
        return sum((w[k] * v for k, v in losses.items()), start=zero)

    def balanced_gradients(self, losses: Mapping[str, torch.Tensor]) -> None:
        """The gradients the balancer reads -> its update -> the step's gradient ``sum_k lambda_k grad L_k``.

        One backward pass per sum of terms the balancer reads (a term, or a group) and one for the terms it does not
        read, then the combined gradient (:func:`combined_gradients`).
        """
        combined_gradients(self, losses)

    def backward(self, total: torch.Tensor) -> None:
        """Backward of ``total`` into every parameter; over ranks, DDP averages the net's, all-reduce the unknowns'."""
        torch.autograd.backward(total, inputs=self.params)
        self.shards.average(p.grad for p in self.params[len(self.net_params) :])

    def adam_step(self, step: int) -> Row:
        """One Adam step; returns the history row (LossNotFinite when a loss is NaN/Inf)."""
        active, before = self.schedule.active(step), self.state.active or ()
        switched_on = set(active) - set(before) if self.state.active is not None else set()
        if switched_on:
            self.state.balancer.reset()  # a term switched on: weights back to 1 and recomputed now
        self.state.active = active
        points = self.points(step, active)
        if switched_on:
            switched = tuple(t for t in active if t in switched_on)
            inverse.fit_unknowns(self.setup, self.state, self.objective, points, switched, before)
        lr = set_lr(self.state.optimizer, self.schedule.lr_factor(step) * self.state.lr_scale)
        losses = self.losses(points, active)
        values = self.shards.values(losses)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise LossNotFinite(bad)
        key = (self.schedule.round(step), active)
        self.state.best.offer(key, step, values, self.state.balancer.weights, self.params)
        clear_grads(self.params)
        if self.state.balancer.due(step) and self.state.balancer.uses_grads:
            self.balanced_gradients(losses)
        else:
            if self.state.balancer.due(step):
                self.state.balancer.update(self.shards.shared(losses, values))
            self.backward(self.weighted(losses))
        self.state.optimizer.step()
        return self.row(step, values, lr)

    def second_step(self) -> tuple[Row, bool]:
        """One chunk of second-phase iterations, weights frozen: its history row (losses at its start), converged."""
        n = min(self.CHUNK[self.state.phase], self.total_steps - self.state.step)
        if again := self.settings.resample_second:  # a chunk ends where new points are drawn
            n = min(n, again - (self.state.step - self.settings.adam) % again)
        points = self.points(self.state.step + 1, self.terms)
        same = points is self._chunk[0] and self.causal is None  # the objective of the last chunk
        seen: dict[float, dict[str, torch.Tensor]] = {}  # loss -> per-term losses (detached), every evaluation here
        start: list[dict[str, float]] = []  # LM: the losses where the chunk starts

        def closure() -> torch.Tensor:
            clear_grads(self.params)
            losses = self.losses(points, self.terms)
            total = self.weighted(losses)
            reported = self.shards.mean(total)  # the loss over every rank's points
            seen[float(reported.detach())] = {k: v.detach() for k, v in losses.items()}  # no sync: read once, below
            if torch.isfinite(reported):
                self.backward(total)
            return reported

        def residuals(jacobian: bool) -> Any:
            if not start:  # (with gradients on: the autograd lowering differentiates the points)
                start.append(self.shards.values(self.losses(points, self.terms)))
            return self.stacked(points, jacobian)
        lm = self.state.phase == "lm"
        loss, done, converged = optimizers.chunk(self.state.optimizer, n, residuals if lm else closure, same)
        first = start[0] if lm else self.shards.values(seen.get(loss) or self._chunk[1].get(loss) or self.losses(
            points, self.terms))  # (the last: a resumed run, starting where its last chunk ended)
        self._chunk = (points, seen)
        bad = [k for k, v in first.items() if not math.isfinite(v)]
        if bad or not math.isfinite(loss) or not all(torch.isfinite(p).all() for p in self.params):
            raise LossNotFinite(bad or list(self.terms))
        return self.row(self.state.step + done, first, self.state.optimizer.param_groups[0]["lr"]), converged

    def stacked(self, points: Mapping[str, torch.Tensor], jacobian: bool) -> Any:
        """The weighted residual vector at ``points`` and, if asked, its Jacobian (pdec.train.jacobian)."""
        weights = self.state.balancer.weights
        return residual_vector(self.residual_problem, points, self.targets_for(points), weights, jacobian)

    def row(self, step: int, losses: Mapping[str, float], lr: float) -> Row:
        """A history row: step, phase, lr, total and per-term losses, weights, unknowns (errors added later)."""
        w = self.state.balancer.weights
        total = sum(w[k] * v for k, v in losses.items())
        dtype = str(self.state.dtype).removeprefix("torch.")
        return Row(step, self.state.phase, dtype, lr, total, losses=dict(losses),
                   weights={k: w[k] for k in self.terms}, unknowns=self.state.unknowns.floats(),
                   causal={} if self.causal is None else self.causal.smallest())

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The network at ``[N, d]`` points as float64 numpy (no gradient)."""
        with torch.no_grad():
            return self.state.net(self.tensor(points)).cpu().double().numpy()

    # ------------------------------------------------------------------------------------------------------ loop

    def run(self) -> Result:
        """Train to the end (or to a Ctrl-C / KeyboardInterrupt from the callback); write the run directory."""
        with self.console.progress(self.state.step), deferred_interrupt() as flag:
            try:
                loop(self, flag)
            except KeyboardInterrupt:
                if flag["hard"]:
                    say(f"stopped at once; the last checkpoint in {self.setup.run_dir} is kept")
                    raise
                return interrupted(self)
        return finish(self)


def loop(trainer: Trainer, flag: Mapping[str, bool]) -> None:
    """Run the remaining Adam steps, then the second phase's iterations."""
    state = trainer.state
    checkpoint.snapshot(state)
    while state.step < trainer.total_steps:
        if state.step + 1 > trainer.settings.adam and state.phase == "adam":
            trainer.enter_second_phase()
            checkpoint.snapshot(state)
        started = time.perf_counter()
        try:
            row, converged = (trainer.adam_step(state.step + 1), False) if state.phase == "adam" else (
                trainer.second_step())
        except LossNotFinite as exc:
            checkpoint.rollback(state, not_finite(trainer, list(exc.args[0])), trainer.enter_second_phase)
            trainer.console.moved_to(state.step)
            continue
        state.elapsed += time.perf_counter() - started
        previous, state.step = state.step, row.step
        if state.step == previous:  # the second phase converged before its first iteration: nothing new to record
            break
        record(trainer, previous, row)
        if state.phase != "adam" or crossed(previous, state.step, trainer.SNAPSHOT_EVERY):
            checkpoint.snapshot(state)
        if crossed(previous, state.step, trainer.settings.checkpoint_every):
            checkpoint.save(trainer.setup, state)
        if trainer.callback is not None:
            trainer.callback(trainer, row)
        if trainer.shards.any(flag["hit"]):  # every rank stops after the same step
            raise KeyboardInterrupt
        if converged:
            break


def not_finite(trainer: Trainer, terms: list[str]) -> str:
    """The terms whose loss is NaN/Inf, each with the first point where its residual is (pdec.train.metrics)."""
    points, state = trainer.cached_points(), trainer.state
    residuals = None if points is None else trainer.compiled.evaluate(
        state.net, points, trainer.targets_for(points), state.unknowns.values())
    return metrics.where_not_finite(trainer.compiled, terms, points, residuals)


def record(trainer: Trainer, previous: int, row: Row) -> None:
    """Add evaluation errors when due, the wall time; append the row; show progress; warn about new findings."""
    step = row.step
    due = crossed(previous, step, trainer.settings.eval_every) or step == trainer.total_steps
    if trainer.evaluation is not None and due:
        trainer.errors = trainer.evaluation.errors(trainer.predict)
        row.errors = dict(trainer.errors)
    row.time = trainer.state.elapsed
    trainer.state.history.append(row)
    if crossed(previous, step, trainer.DIAGNOSE_EVERY):
        trainer.console.warn_new(trainer.state.step, diagnose(trainer.state.history.rows, trainer.terms))
    trainer.console.show(previous, row, trainer.errors, trainer.state.elapsed)


def clear_grads(params: list[torch.Tensor]) -> None:
    """Every gradient to None: ``optimizer.zero_grad(set_to_none=True)``, without its profiler hooks (3% of a step)."""
    for p in params:
        p.grad = None


def combined_gradients(trainer: Trainer, losses: Mapping[str, torch.Tensor]) -> None:
    """The gradients the balancer reads -> its update -> ``grad = sum_k lambda_k g_k``, accumulated through backward().

    Each sum of terms the balancer names (:meth:`~pdec.train.balance.Balancer.gradient_sums`: every term alone, or one
    group) is differentiated once; the terms in no sum (fixed weights: conditions at isolated points), with those of
    a sum whose weights differ, are differentiated once together, weighted. No term is differentiated twice, so this
    never costs more than the per-term passes. The combined gradient ``G_j = sum_s lambda_s g_sj + r_j`` of each
    parameter goes in as the backward of ``sum_j <p_j, G_j>`` (whose gradient is exactly ``G_j``), so gradient hooks
    (a data-parallel wrapper's all-reduce) see it. When the balancer reads nothing (a lone group at its weights) the
    step is the ordinary backward of ``sum_k lambda_k L_k``.
    """
    params, sums = trainer.params, trainer.state.balancer.gradient_sums(losses)
    grads = sum_gradients(losses, sums, params)
    trainer.shards.average(g for found in grads.values() for g in found)  # every rank balances the global gradients
    trainer.state.balancer.update(losses, {k: g[: len(trainer.net_params)] for k, g in grads.items()})
    w = trainer.state.balancer.weights
    uniform = [s for s, m in sums.items() if all(w[k] == w[m[0]] for k in m)]  # a group's terms share its weight
    parts = [(w[sums[s][0]], grads[s]) for s in uniform]
    covered = {k for s in uniform for k in sums[s]}
    rest = {k: v for k, v in losses.items() if k not in covered}
    if not parts:
        trainer.backward(trainer.weighted(losses))
        zero_missing_grads(params)
        return
    if rest:
        found = sum_gradients({"rest": trainer.weighted(rest)}, {"rest": ["rest"]}, params)["rest"]
        trainer.shards.average(found)
        parts.append((1.0, found))
    combined = []
    for j in range(len(params)):
        total = parts[0][1][j] * parts[0][0]
        for weight, found in parts[1:]:
            total.add_(found[j], alpha=weight)
        combined.append(total)
    trainer.backward(sum((p * g).sum() for p, g in zip(params, combined, strict=True)))


def adam(net_params: list[torch.Tensor], unknowns: Unknowns, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam over the network (``lr``) and the unknowns (one group each, their own lr if set)."""
    groups = [{"params": net_params, "lr": lr}]
    groups += [g for g in unknowns.param_groups(lr) if g["params"]]
    for g in groups:
        g["base_lr"] = g["lr"]
    return torch.optim.Adam(groups, fused=device.type in ("cpu", "cuda"))  # one kernel: 3.6x faster on CPU


def zero_missing_grads(params: list[torch.Tensor]) -> None:
    """A zero gradient for every parameter no active term reaches (an unknown whose equation is not on yet).

    Update steps give every parameter a gradient (the combined gradient, zeros included), so Adam counts those steps
    for all of them (its bias correction reads the count): the trajectories of staged inverse problems depend on it.
    """
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> float:
    """Set every group's lr to ``base_lr * factor`` (the schedule's decay times the rollback scale); the net's lr."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    return optimizer.param_groups[0]["lr"]


def _device(name: str) -> torch.device:
    """The torch device; PdecRunError when CUDA is asked for but absent."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise PdecRunError(f"device '{name}' requested but CUDA is not available", hint="use --device cpu")
    return torch.device(name)


def interrupted(trainer: Trainer) -> Result:
    """Save a checkpoint at the last completed step and say how to resume."""
    setup, state = trainer.setup, trainer.state
    checkpoint.save(setup, state)
    spec, world = setup.compiled.spec.path, setup.world
    how = (
        f"pdec.fit(compiled, resume='{setup.resume_dir}')"
        if spec.startswith("<")
        else f"pdec run {spec} --resume {setup.resume_dir}" + (f" --nproc {world}" if world > 1 else "")
    )
    saved = f"interrupted at step {state.step}/{trainer.total_steps}; checkpoint saved in {setup.run_dir}"
    say(f"{saved}\nresume with: {how}")
    return metrics.result(setup, state, measured(trainer).to_dict(), None, interrupted=True)


def measured(trainer: Trainer) -> metrics.FinalMetrics:
    """The final metrics: the losses evaluated afresh at the last points (every rank's), the errors, the state."""
    with torch.enable_grad():
        found = trainer.losses(trainer.points(trainer.state.step or 1, trainer.terms), trainer.terms)
        losses = trainer.shards.values(found)  # over every rank's points
    errors = trainer.evaluation.errors(trainer.predict) if trainer.evaluation is not None else {}
    return metrics.final_metrics(trainer.setup, trainer.state, losses, errors)


def heldout_losses(trainer: Trainer) -> dict[str, tuple[float, float, int]]:
    """Each equation's loss at its training points and at a held-out draw (pdec.train.metrics.heldout_losses)."""
    equations = {t: trainer.sets_of[t] for t in trainer.terms if trainer.term[t].kind == Kind.PDE}
    names = {n for sets in equations.values() for n in sets}
    heldout = getattr(trainer.sampler, "heldout", None)
    if not equations or heldout is None:
        return {}
    training = {n: x for n, x in trainer.points(trainer.state.step or 1, trainer.terms).items() if n in names}
    fresh = {n: trainer.tensor(x) for n, x in heldout(names).items()}
    if set(fresh) != set(training):
        return {}
    unknowns = trainer.state.unknowns.values()

    def evaluate(points: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return trainer.compiled.evaluate(trainer.model, points, {}, unknowns)

    return metrics.heldout_losses(evaluate, equations, training, fresh, trainer.shards)


def finish(trainer: Trainer) -> Result:
    """Final evaluation (of the kept iterate), metrics, diagnoses, checkpoint, history CSV and plots."""
    setup, state = trainer.setup, trainer.state
    found = measured(trainer)
    if state.phase == "adam":  # the last iterate competes too
        key, active = (trainer.schedule.round(state.step), state.active), state.active or trainer.terms
        losses = {k: v for k, v in found.losses.items() if k in active}  # as the kept one was scored: a stage's
        state.best.offer(key, state.step + 1, losses, state.balancer.weights, trainer.params)  # terms only
        if state.best.restore(trainer.params, state.step) is not None:
            found = measured(trainer)
    heldout = heldout_losses(trainer)
    spent = state.step >= trainer.total_steps  # (a second phase that converged ends before)
    spec = setup.compiled.spec.path if Path(setup.compiled.spec.path).is_file() else "SPEC"
    names = (shlex.quote(str(spec)), shlex.quote(str(setup.run_dir))) if setup.resume_dir == setup.run_dir else None
    findings = diagnose(state.history.rows, trainer.terms, final=True, heldout=heldout, spent=spent, names=names)
    found = found.judged({t: held for t, (_, held, _) in heldout.items()}, [f.message for f in findings])
    if main_process():
        write_json(setup.run_dir / METRICS, found.to_dict())
    checked = None
    if state.unknowns.specs:
        if state.unknowns.raw:
            points = trainer.points(state.step or 1, trainer.terms)
            shards = trainer.shards  # the check sees every rank's points
            checked = inverse.check_identifiability(
                setup, state, shards.gather(points), shards.gather(trainer.targets_for(points)))
        inverse.report_unknowns(setup, state.unknowns, found.unknowns, checked)
    checkpoint.save(setup, state, finished=True)
    result = metrics.result(setup, state, found.to_dict(), None if checked is None else checked.intervals)
    if trainer.plots:
        metrics.plot(setup, state, trainer.evaluation, trainer.predict, trainer.sampler.draw)
    errors = ", ".join(f"{k} {v:.3e}" for k, v in found.errors.items())
    say(
        f"done: {state.step} steps in {state.elapsed:.1f} s, loss {found.loss:.3e}"
        + (f" (the iterate of step {found.kept_step}, the lowest)" if found.kept_step is not None else "")
        + (f", relative L2 error {errors}" if errors else "")
        + f"; run directory {setup.run_dir}",
        setup.quiet,
    )
    for finding in findings:
        say(f"warning: {finding.message}", setup.quiet)
    return result


__all__ = ["LossNotFinite", "Trainer", "default_run_dir", "run_settings", "train"]
