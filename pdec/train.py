"""Training: CompiledProblem -> Result (sample points, build the net, balance the losses, Adam then L-BFGS).

``train(compiled, **overrides)`` is the API and ``cmd_run``/``cmd_predict`` the command-line entry points. A
:class:`Trainer` holds every piece of mutable state (network, unknowns, optimiser, balancer, step, history), so
several runs can live in one process and a data-parallel wrapper can drive one per rank.

One Adam step ``s`` (1-based)::

    active terms (stages) -> points (resampling round) -> losses {term: mean residual^2}
    -> [update step] per-term gradients g_k; balancer updates lambda; grad = sum_k lambda_k g_k
       [other steps] backward of sum_k lambda_k L_k
    -> optimiser step -> history row (and evaluation / checkpoint when due)
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import sympy
import torch
from sympy.core.function import AppliedUndef

from pdec.balance import make_balancer
from pdec.diagnostics import Finding, diagnose
from pdec.errors import PdecRunError
from pdec.nets import build_net, output_scales
from pdec.results import (
    CHECKPOINT,
    HISTORY,
    METRICS,
    RESUME_KEYS,
    SETTINGS,
    SPEC,
    UNKNOWNS,
    History,
    Result,
    Solution,
    load_checkpoint,
    plot_run,
    save_checkpoint,
    say,
    settings_from_dict,
    write_json,
)
from pdec.sampling import Sampler, bare, eval_points
from pdec.settings import Settings, Stage

Callback = Callable[["Trainer", Mapping[str, Any]], None]


def train(
    compiled: Any,
    *,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    quiet: bool | None = None,
    callback: Callback | None = None,
    plots: bool = True,
    **overrides: Any,
) -> Result:
    """Train a compiled problem and return its Result.

    Args:
        compiled: a CompiledProblem (see docs/architecture.md).
        out: the run directory (default ``runs/<spec stem>-<timestamp>``).
        resume: a run directory to continue from its checkpoint (its saved settings, then ``overrides``).
        quiet: no progress bar and no summary (the bar shows only on an interactive terminal anyway).
        callback: called as ``callback(trainer, row)`` after every step (raise KeyboardInterrupt to stop cleanly).
        plots: write the plots at the end (matplotlib; a few seconds).
        **overrides: training settings replacing the spec's (``adam=200``, ``weighting="fixed"``, ...).
    """
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / SETTINGS).is_file():
            raise PdecRunError(f"'{run_dir}' is not a run directory", hint="pass a directory `pdec run` created")
        settings = settings_from_dict(json.loads((run_dir / SETTINGS).read_text()))
    else:
        settings = compiled.problem.settings
        run_dir = Path(out) if out is not None else default_run_dir(compiled)
    if overrides:
        settings = settings.replace(**overrides)
    trainer = Trainer(compiled, settings, run_dir, quiet=quiet, callback=callback, plots=plots)
    if resume is not None:
        copy_path = run_dir / SPEC
        if copy_path.is_file() and copy_path.read_text() != compiled.problem.source.text:
            say(f"warning: the spec differs from the copy in {run_dir}; continuing with the spec given now")
        trainer.restore(load_checkpoint(run_dir))
    else:
        trainer.create_run_dir()
    return trainer.run()


def default_run_dir(compiled: Any) -> Path:
    """``runs/<spec stem>-<YYYYmmdd-HHMMSS>`` (with a numeric suffix if taken)."""
    path = compiled.problem.source.path
    stem = "spec" if path.startswith("<") else Path(path).stem
    base = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def interactive() -> bool:
    """Whether stderr is a terminal a person watches (not a pipe, not CI)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[dict[str, bool]]:
    """Turn the first Ctrl-C into a flag checked between steps; a second one stops at once (main thread only)."""
    flag = {"hit": False, "hard": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if flag["hit"]:
            flag["hard"] = True
            raise KeyboardInterrupt
        flag["hit"] = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class LossNotFinite(Exception):
    """A loss (or, in L-BFGS, a parameter) became NaN or Inf; carries the offending terms."""


class Evaluation:
    """A fixed evaluation set: points ``[N, d]`` and reference values per field (relative L2 errors)."""

    def __init__(self, points: np.ndarray, values: np.ndarray, fields: tuple[str, ...], columns: list[int]) -> None:
        self.points = points
        self.values = values
        self.fields = fields
        self.columns = columns

    def errors(self, predict: Callable[[np.ndarray], np.ndarray]) -> dict[str, float]:
        """``{field: ||pred - ref|| / ||ref||}`` over the evaluation set."""
        predicted = predict(self.points)
        out = {}
        for j, (name, col) in enumerate(zip(self.fields, self.columns, strict=True)):
            ref = self.values[:, j]
            norm = float(np.linalg.norm(ref))
            out[name] = float(np.linalg.norm(predicted[:, col] - ref)) / (norm if norm > 0 else 1.0)
        return out


class Trainer:
    """Everything one training run holds: network, unknowns, sampler, balancer, optimiser, step and history.

    Args:
        compiled: the CompiledProblem.
        settings: resolved settings.
        run_dir: where the run's files go.
        quiet: suppress the progress bar and the summary (the bar shows only on an interactive terminal).
        callback: ``callback(trainer, row)`` after each step.
        plots: write the plots when training finishes.
    """

    SNAPSHOT_EVERY = 25  # Adam steps between in-memory snapshots for NaN rollback (every L-BFGS chunk is one)
    LBFGS_CHUNK = 10  # L-BFGS iterations per optimiser call and history row (each call re-evaluates the loss once)
    MAX_ROLLBACKS = 8
    STATUS_EVERY = 30.0  # seconds between status lines when stderr is not a terminal
    DIAGNOSE_EVERY = 500  # steps between checks for stalled terms and extreme weights (pdec.diagnostics)

    def __init__(
        self,
        compiled: Any,
        settings: Settings,
        run_dir: Path,
        quiet: bool | None = None,
        callback: Callback | None = None,
        plots: bool = True,
    ) -> None:
        self.compiled = compiled
        self.plots = plots
        self.settings = settings
        self.run_dir = Path(run_dir)
        self.quiet = bool(quiet)  # no summary at all
        self.show_bar = not self.quiet and interactive()  # the progress bar only on a terminal
        self.show_status = not self.quiet and not self.show_bar  # off a terminal: a status line now and then
        self._last_status = time.monotonic()
        self.callback = callback
        self.device = self._device(settings.device)
        self.dtype = getattr(torch, settings.dtype)
        self.terms = tuple(compiled.terms)
        self.sets_of = {t: tuple(n for n, ps in compiled.point_sets.items() if t in ps.terms) for t in self.terms}
        self.stages = self._stage_plan()
        self.net = build_net(
            compiled.variables, compiled.bounds, compiled.fields, settings.layers, settings.activation, settings.seed
        ).to(self.device, self.dtype)
        if settings.output_scale == "data" and compiled.problem.data:
            observed = [
                (d.fields, np.asarray(d.values, dtype=float).reshape(len(d), -1)) for d in compiled.problem.data
            ]
            self.net.scale_outputs(*output_scales(compiled.fields, observed))
        self.unknowns = copy.deepcopy(compiled.unknowns).to(self.device, self.dtype)
        self.net_params = list(self.net.parameters())
        self.params = self.net_params + list(self.unknowns.parameters())
        self.sampler = Sampler(compiled, settings)
        self.targets = {k: self._tensor(v) for k, v in self.sampler.targets().items()}
        self.balancer = make_balancer(self.terms, settings)
        self.evaluation = self._evaluation()
        self.optimizer: torch.optim.Optimizer = self._adam()
        self.phase = "adam"
        self.step = 0
        self.lr_scale = 1.0
        self.rollbacks = 0
        self.elapsed = 0.0
        self.history = History()
        self._active: tuple[str, ...] | None = None
        self._cache: tuple[Any, dict[str, torch.Tensor]] | None = None
        self._snapshot: dict[str, Any] | None = None
        self._errors: dict[str, float] = {}
        self._warned: set[tuple[str, str]] = set()
        self.identifiability: list[str] | None = None  # warnings about the unknowns, from the trained network

    # ------------------------------------------------------------------------------------------------ construction

    @staticmethod
    def _device(name: str) -> torch.device:
        """The torch device; PdecRunError when CUDA is asked for but absent."""
        if name.startswith("cuda") and not torch.cuda.is_available():
            raise PdecRunError(f"device '{name}' requested but CUDA is not available", hint="use --device cpu")
        return torch.device(name)

    def _tensor(self, array: Any) -> torch.Tensor:
        """An array as a tensor on the run's device and dtype."""
        return torch.as_tensor(np.asarray(array, dtype=float), dtype=self.dtype, device=self.device)

    def _stage_plan(self) -> list[tuple[int, tuple[str, ...]]]:
        """``[(last step, active terms)]`` per stage; unknown bare names raise PdecRunError."""
        by_bare = {bare(t): t for t in self.terms}
        plan, end = [], 0
        for stage in self.settings.stages or self._default_stages():
            missing = [n for n in stage.terms if n not in by_bare]
            if missing:
                raise PdecRunError(
                    f"stage names unknown term(s) {', '.join(missing)}",
                    stage.span,
                    "known terms: " + ", ".join(by_bare),
                )
            end += stage.steps
            plan.append((end, tuple(t for t in self.terms if bare(t) in stage.terms)))
        if end > self.settings.adam:
            raise PdecRunError(
                f"the stages run to step {end}, past the {self.settings.adam} Adam steps",
                self.settings.stages[-1].span,
                f"stages switch terms on during Adam: set adam to at least {end}, or shorten the stages",
            )
        return plan

    def _default_stages(self) -> tuple[Stage, ...]:
        """Without stages in the spec, an inverse problem with data trains on the data alone first.

        ``data_first`` of the Adam steps fit the network to the observations; when the equations switch on, the
        unknowns are fitted to them with the network frozen (``fit_unknowns``), then everything trains together.
        """
        data = tuple(bare(t) for t in self.terms if self.compiled.terms[t].kind == "data")
        steps = round(self.settings.data_first * self.settings.adam)
        if not data or not self.compiled.problem.unknowns or steps < 1:
            return ()
        return (Stage(data, steps),)

    def _adam(self) -> torch.optim.Adam:
        """Adam over the network (settings.lr) and the unknowns (one group each, their own lr if set)."""
        groups = [{"params": self.net_params, "lr": self.settings.lr}]
        if hasattr(self.unknowns, "param_groups"):
            groups += [g for g in self.unknowns.param_groups(self.settings.lr) if g["params"]]
        elif self.params[len(self.net_params) :]:
            groups.append({"params": self.params[len(self.net_params) :], "lr": self.settings.lr})
        for g in groups:
            g["base_lr"] = g["lr"]
        return torch.optim.Adam(groups)

    def _lbfgs(self) -> torch.optim.LBFGS:
        """L-BFGS over every parameter (strong Wolfe line search), ``LBFGS_CHUNK`` iterations per call."""
        return torch.optim.LBFGS(
            self.params,
            lr=self.lr_scale,
            max_iter=self.LBFGS_CHUNK,
            max_eval=25 * self.LBFGS_CHUNK,
            history_size=50,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )

    def _evaluation(self) -> Evaluation | None:
        """The evaluation set: the problem's reference data, else ``eval_points`` Sobol points with ``exact``."""
        fields = tuple(self.compiled.fields)
        reference = getattr(self.compiled.problem, "reference", None)
        if reference is not None:
            order = [list(reference.variables).index(v) for v in self.compiled.variables]
            points = np.asarray(reference.points, dtype=float)[:, order]
            values = np.asarray(reference.values, dtype=float).reshape(len(points), -1)
            return Evaluation(points, values, tuple(reference.fields), [fields.index(f) for f in reference.fields])
        points = eval_points(self.sampler.bounds, self.settings.eval_points)
        with torch.no_grad():
            exact = self.compiled.exact(self._tensor(points))
        if exact is None:
            return None
        exact = exact.detach().cpu().double().numpy()
        known = [j for j in range(exact.shape[1]) if np.isfinite(exact[:, j]).all()]
        if not known:
            return None
        return Evaluation(points, exact[:, known], tuple(fields[j] for j in known), known)

    # --------------------------------------------------------------------------------------------------- run dir

    def create_run_dir(self) -> None:
        """Create the run directory with the spec copy and the resolved settings; refuse to overwrite a run."""
        if (self.run_dir / CHECKPOINT).exists():
            raise PdecRunError(
                f"'{self.run_dir}' already holds a run",
                hint=f"continue it with --resume {self.run_dir}, or choose another --out",
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        source = self.compiled.problem.source
        (self.run_dir / SPEC).write_text(source.text)
        write_json(self.run_dir / SETTINGS, self.settings.to_dict())

    def meta(self) -> dict[str, Any]:
        """What a checkpoint needs to rebuild the network without the compiler."""
        c = self.compiled
        return {
            "variables": list(c.variables),
            "fields": list(c.fields),
            "terms": list(self.terms),
            "bounds": {v: list(c.bounds[v]) for v in c.variables},
            "layers": list(self.settings.layers),
            "activation": self.settings.activation,
            "dtype": self.settings.dtype,
            "spec_path": str(c.problem.source.path),
            "torch": str(torch.__version__),  # a plain str: loadable with weights_only=True
        }

    def state(self, finished: bool = False) -> dict[str, Any]:
        """The checkpoint: model, unknowns, optimiser, weights state, RNG state, step and history."""
        return {
            "meta": self.meta(),
            "net": self.net.state_dict(),
            "unknowns": self.unknowns.state_dict(),
            "unknowns_floats": self.unknowns.floats(),
            "optimizer": self.optimizer.state_dict(),
            "phase": self.phase,
            "balancer": self.balancer.state_dict(),
            "step": self.step,
            "lr_scale": self.lr_scale,
            "rollbacks": self.rollbacks,
            "elapsed": self.elapsed,
            "history": self.history.rows,
            "rng": {"torch": torch.get_rng_state()},
            "finished": finished,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a checkpoint (PdecRunError when it belongs to a different problem)."""
        missing = [k for k in RESUME_KEYS if k not in state]
        if missing:
            raise PdecRunError(f"the checkpoint in '{self.run_dir}' cannot be resumed (missing {', '.join(missing)})")
        meta = state["meta"]
        mine = self.meta()
        for key in ("variables", "fields", "terms", "layers", "activation"):
            if meta[key] != mine[key]:
                raise PdecRunError(
                    f"checkpoint {key} {meta[key]} do not match this spec's {mine[key]}",
                    hint="resume with the spec the run was started from",
                )
        self.net.load_state_dict(state["net"])
        self.unknowns.load_state_dict(state["unknowns"])
        self.phase = state["phase"]
        if self.phase == "lbfgs":
            self.optimizer = self._lbfgs()
        self.optimizer.load_state_dict(state["optimizer"])
        self.balancer.load_state_dict(state["balancer"])
        self.step, self.lr_scale = int(state["step"]), float(state["lr_scale"])
        self.rollbacks, self.elapsed = int(state["rollbacks"]), float(state["elapsed"])
        self.history = History(state["history"])
        self._active = self.active_terms(self.step) if self.step else None

    def save(self, finished: bool = False) -> None:
        """Write the checkpoint and the history CSV."""
        save_checkpoint(self.run_dir / CHECKPOINT, self.state(finished))
        self.history.write_csv(self.run_dir / HISTORY)

    # --------------------------------------------------------------------------------------------------- one step

    def active_terms(self, step: int) -> tuple[str, ...]:
        """The terms trained at ``step`` (1-based): the stage's terms, then every term."""
        for end, terms in self.stages:
            if step <= end and step <= self.settings.adam:
                return terms
        return self.terms

    def points(self, step: int, active: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The points of the active terms' point sets for the resampling round of ``step`` (cached)."""
        every = self.settings.resample
        round_ = (min(step, max(self.settings.adam, 1)) - 1) // every if every else 0
        names = frozenset(n for t in active for n in self.sets_of[t])
        key = (round_, names)
        if self._cache is None or self._cache[0] != key:
            drawn = self.sampler.draw(round_, names)
            self._cache = (key, {n: self._tensor(x) for n, x in drawn.items()})
        return self._cache[1]

    def losses(self, points: Mapping[str, torch.Tensor], active: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """``{term: mean(residual ** 2)}`` for the active terms."""
        targets = {k: v for k, v in self.targets.items() if k in points}
        residuals = self.compiled.evaluate(self.net, points, targets, self.unknowns.values())
        missing = [t for t in active if t not in residuals]
        if missing:
            raise PdecRunError(f"the compiled problem returned no residual for {', '.join(missing)}")
        return {t: residuals[t].pow(2).mean() for t in active}

    def weighted(self, losses: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``sum_k lambda_k L_k`` with the balancer's (constant) weights."""
        w = self.balancer.weights
        return sum((w[k] * v for k, v in losses.items()), start=torch.zeros((), dtype=self.dtype, device=self.device))

    def set_lr(self, step: int) -> float:
        """Apply ``base_lr * lr_decay ** ((step - 1) // decay_every) * lr_scale`` to every group; return the net's."""
        factor = self.settings.lr_decay ** ((step - 1) // self.settings.decay_every) * self.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        return self.optimizer.param_groups[0]["lr"]

    def balanced_gradients(self, losses: Mapping[str, torch.Tensor]) -> None:
        """Per-term gradients -> balancer update -> ``p.grad = sum_k lambda_k g_k`` (no further backward pass)."""
        names = list(losses)
        grads = {}
        for i, k in enumerate(names):
            if losses[k].requires_grad:
                found = torch.autograd.grad(losses[k], self.params, retain_graph=i < len(names) - 1, allow_unused=True)
            else:
                found = (None,) * len(self.params)
            grads[k] = [torch.zeros_like(p) if g is None else g for g, p in zip(found, self.params, strict=True)]
        n = len(self.net_params)
        self.balancer.update(losses, {k: g[:n] for k, g in grads.items()})
        w = self.balancer.weights
        for j, p in enumerate(self.params):
            total = grads[names[0]][j] * w[names[0]]
            for k in names[1:]:
                total.add_(grads[k][j], alpha=w[k])
            p.grad = total

    def adam_step(self, step: int) -> dict[str, Any]:
        """One Adam step; returns the history row (LossNotFinite when a loss is NaN/Inf)."""
        active = self.active_terms(step)
        before = self._active or ()
        switched_on = set(active) - set(before) if self._active is not None else set()
        if switched_on:
            self.balancer.reset()  # a term switched on: weights back to 1 and recomputed now
        self._active = active
        points = self.points(step, active)
        if switched_on:
            self.fit_unknowns(points, tuple(t for t in active if t in switched_on), before)
        lr = self.set_lr(step)
        losses = self.losses(points, active)
        values = {k: float(v.detach()) for k, v in losses.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise LossNotFinite(bad)
        self.optimizer.zero_grad(set_to_none=True)
        if self.balancer.due(step) and self.balancer.uses_grads:
            self.balanced_gradients(losses)
        else:
            if self.balancer.due(step):
                self.balancer.update(losses)
            torch.autograd.backward(self.weighted(losses), inputs=self.params)
        self.optimizer.step()
        return self.row(step, values, lr)

    def fit_unknowns(
        self, points: Mapping[str, torch.Tensor], terms: tuple[str, ...], before_terms: tuple[str, ...]
    ) -> None:
        """Fit the unknowns to ``terms`` (just switched on) with the network frozen: L-BFGS on their summed losses.

        After a data-only stage (``before_terms`` held a data set) the network follows the data, so this is the
        classic two-step estimate: the unknowns that best explain the fitted fields, found in a second instead of
        thousands of Adam steps during which the network would bend towards the physics of the initial guesses.
        Fields no such data set observed (e.g. pressure) are still arbitrary, so their rows of the output layer are
        fitted too (on the last hidden features, which the data shaped); the rest of the network stays frozen. Only
        the switched-on terms that contain an unknown or such a field count. Skipped when no data set was trained
        before, when no term contains an unknown, or when ``settings.fit_unknowns`` is 0; a non-finite result
        restores the old values.
        """
        problem = self.compiled.problem
        fitted = {f for d in problem.data if f"data:{d.name}" in before_terms for f in d.fields}
        if not self.settings.fit_unknowns or not self.unknowns.raw or not fitted:
            return
        unknowns = {u.name for u in problem.unknowns}
        with_unknowns = {t for t in terms if unknowns & _names(self.compiled.terms[t].exprs, sympy.Symbol)}
        if not with_unknowns:
            return
        fields_of = {t: _names(self.compiled.terms[t].exprs, AppliedUndef) for t in terms}
        free = {f for t in with_unknowns for f in fields_of[t]} - fitted
        terms = tuple(t for t in terms if t in with_unknowns or fields_of[t] & free)
        params = list(self.unknowns.parameters())
        head = self.net.head
        rows = torch.tensor([f in free for f in self.net.fields], device=self.device)
        if free:
            params += [head.weight, head.bias]
        before = [p.detach().clone() for p in params]
        optimizer = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=self.settings.fit_unknowns,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-12,
            tolerance_change=1e-14,
            history_size=50,
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            total = sum(self.losses(points, terms).values())
            if torch.isfinite(total):
                torch.autograd.backward(total, inputs=params)
                if free:  # only the free fields' rows move: L-BFGS steps lie in the span of the gradients
                    head.weight.grad[~rows] = 0
                    head.bias.grad[~rows] = 0
            return total

        start = self.unknowns.floats()
        optimizer.step(closure)
        if not all(torch.isfinite(p).all() for p in params) or not math.isfinite(float(closure().detach())):
            with torch.no_grad():
                for p, old in zip(params, before, strict=True):
                    p.copy_(old)
            say("warning: fitting the unknowns to the newly active terms failed; they keep their values")
            return
        found = self.unknowns.floats()
        moved = ", ".join(f"{k} {start[k]:.4g} -> {found[k]:.4g}" for k in found)
        also = f" (and the output layer of {', '.join(sorted(free))})" if free else ""
        switched = ", ".join(bare(t) for t in terms)
        say(f"step {self.step + 1}: {switched} on; unknowns fitted with the network frozen{also}: {moved}", self.quiet)

    def check_identifiability(self, points: Mapping[str, torch.Tensor]) -> None:
        """Warn about unknowns the residuals barely depend on, or depend on only in a fixed combination.

        Runs on the trained network at the end of the run (a barely trained network gives false alarms both ways),
        in float64, with the SVD of the normalised sensitivities (see pdec.inverse.identifiability).
        """
        from pdec.inverse import identifiability, sensitivities

        compiled = copy.copy(self.compiled)
        compiled.unknowns = self.unknowns
        targets = {k: v for k, v in self.targets.items() if k in points}
        with torch.enable_grad():
            found = sensitivities(compiled, self.net, points, targets)
        self.identifiability = identifiability(found)
        for warning in self.identifiability:
            say(f"warning: {warning}")

    def lbfgs_step(self) -> dict[str, Any]:
        """Up to ``LBFGS_CHUNK`` L-BFGS iterations with frozen weights; returns one history row.

        The row's step is the iteration count reached, its losses those at the start of the chunk; ``converged`` is
        set when L-BFGS stopped before the chunk's end (gradient or progress below tolerance).
        """
        n = min(self.LBFGS_CHUNK, self.total_steps - self.step)
        group = self.optimizer.param_groups[0]
        group["max_iter"], group["max_eval"] = n, 25 * n
        points = self.points(self.step + 1, self.terms)
        first: dict[str, float] = {}

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            losses = self.losses(points, self.terms)
            total = self.weighted(losses)
            if not first:
                first.update({k: float(v.detach()) for k, v in losses.items()})
            if torch.isfinite(total):
                torch.autograd.backward(total, inputs=self.params)
            return total

        state = self.optimizer.state[self.params[0]]
        before = state.get("n_iter", 0)
        loss = self.optimizer.step(closure)
        bad = [k for k, v in first.items() if not math.isfinite(v)]
        if bad or not math.isfinite(float(loss.detach())) or not all(torch.isfinite(p).all() for p in self.params):
            raise LossNotFinite(bad or list(self.terms))
        done = state.get("n_iter", 0) - before
        row = self.row(self.step + done, first, group["lr"])
        row["converged"] = done < n
        return row

    def row(self, step: int, losses: Mapping[str, float], lr: float) -> dict[str, Any]:
        """A history row: step, phase, lr, total and per-term losses, weights, unknowns (errors added later)."""
        w = self.balancer.weights
        row: dict[str, Any] = {
            "step": step,
            "phase": self.phase,
            "lr": lr,
            "loss": sum(w[k] * v for k, v in losses.items()),
        }
        row.update({f"loss:{k}": v for k, v in losses.items()})
        row.update({f"weight:{k}": w[k] for k in self.terms})
        row.update({f"unknown:{k}": v for k, v in self.unknowns.floats().items()})
        return row

    # ----------------------------------------------------------------------------------------------------- faults

    def snapshot(self) -> None:
        """Keep an in-memory copy of the state to roll back to after a NaN/Inf."""
        self._snapshot = copy.deepcopy(
            {
                "net": self.net.state_dict(),
                "unknowns": self.unknowns.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "phase": self.phase,
                "balancer": self.balancer.state_dict(),
                "step": self.step,
                "rows": len(self.history),
                "active": self._active,
            }
        )

    def where_not_finite(self, terms: list[str]) -> str:
        """The terms, each with the first point where its residual is NaN/Inf at the current parameters."""
        if self._cache is None:
            return ", ".join(terms)
        points = self._cache[1]
        targets = {k: v for k, v in self.targets.items() if k in points}
        residuals = self.compiled.evaluate(self.net, points, targets, self.unknowns.values())
        return "; ".join(_first_bad_row(t, residuals.get(t), points, self.compiled) for t in terms)

    def rollback(self, terms: list[str]) -> None:
        """Restore the last snapshot and halve the learning rate; PdecRunError after MAX_ROLLBACKS."""
        self.rollbacks += 1
        failed = self.step + 1
        where = self.where_not_finite(terms)
        if self.rollbacks > self.MAX_ROLLBACKS or self._snapshot is None:
            raise PdecRunError(
                f"loss {where} is NaN/Inf at step {failed} after {self.MAX_ROLLBACKS} rollbacks",
                hint="lower lr, train in float64, or check the spec's scaling",
            )
        snap = copy.deepcopy(self._snapshot)
        self.net.load_state_dict(snap["net"])
        self.unknowns.load_state_dict(snap["unknowns"])
        self.phase = snap["phase"]
        self.lr_scale *= 0.5
        if self.phase == "lbfgs":
            self.optimizer = self._lbfgs()
        self.optimizer.load_state_dict(snap["optimizer"])
        for group in self.optimizer.param_groups:
            if self.phase == "lbfgs":
                group["lr"] = self.lr_scale
        self.balancer.load_state_dict(snap["balancer"])
        self.step, self._active = snap["step"], snap["active"]
        self.history.truncate(snap["rows"])
        say(
            f"step {failed}: loss {where} is NaN/Inf; rolled back to step {self.step} and lowered the "
            f"learning rate to x{self.lr_scale:g} (rollback {self.rollbacks}/{self.MAX_ROLLBACKS})"
        )

    # ------------------------------------------------------------------------------------------------------ loop

    @property
    def total_steps(self) -> int:
        """Adam steps plus L-BFGS iterations."""
        return self.settings.adam + self.settings.lbfgs

    def run(self) -> Result:
        """Train to the end (or to a Ctrl-C / KeyboardInterrupt from the callback); write the run directory."""
        from tqdm import tqdm

        bar = tqdm(
            total=self.total_steps, initial=self.step, disable=not self.show_bar, dynamic_ncols=True, unit="step"
        )
        try:
            with deferred_interrupt() as flag:
                try:
                    self.loop(bar, flag)
                except KeyboardInterrupt:
                    if flag["hard"]:
                        say(f"stopped at once; the last checkpoint in {self.run_dir} is kept")
                        raise
                    return self.interrupted()
        finally:
            bar.close()
        return self.finish()

    def loop(self, bar: Any, flag: Mapping[str, bool]) -> None:
        """Run the remaining Adam steps, then the L-BFGS iterations."""
        self.snapshot()
        while self.step < self.total_steps:
            step = self.step + 1
            if step > self.settings.adam and self.phase == "adam":
                self.phase, self.optimizer = "lbfgs", self._lbfgs()
                self.snapshot()
            started = time.perf_counter()
            try:
                row = self.adam_step(step) if self.phase == "adam" else self.lbfgs_step()
            except LossNotFinite as exc:
                self.rollback(list(exc.args[0]))
                bar.n = self.step
                continue
            self.elapsed += time.perf_counter() - started
            converged = row.pop("converged", False)
            previous, self.step = self.step, row["step"]
            if self.step == previous:  # L-BFGS converged before its first iteration: nothing new to record
                break
            self.record(previous, row, bar)
            if self.phase == "lbfgs" or _crossed(previous, self.step, self.SNAPSHOT_EVERY):
                self.snapshot()
            if _crossed(previous, self.step, self.settings.checkpoint_every):
                self.save()
            if self.callback is not None:
                self.callback(self, row)
            if flag["hit"]:
                raise KeyboardInterrupt
            if converged:
                break

    def record(self, previous: int, row: dict[str, Any], bar: Any) -> None:
        """Add evaluation errors when due, the wall time, append the row and update the progress bar."""
        step = row["step"]
        if self.evaluation is not None and (
            _crossed(previous, step, self.settings.eval_every) or step == self.total_steps
        ):
            self._errors = self.evaluation.errors(self.predict)
            row.update({f"error:{k}": v for k, v in self._errors.items()})
        row["time"] = self.elapsed
        self.history.append(row)
        bar.update(step - previous)
        if self.show_bar and (_crossed(previous, step, 10) or step == self.total_steps):
            shown = {"loss": f"{row['loss']:.3e}"}
            shown.update({f"error {k}": f"{v:.2e}" for k, v in self._errors.items()})  # the latest evaluation
            bar.set_postfix(shown, refresh=False)
        if _crossed(previous, step, self.DIAGNOSE_EVERY):
            self.warn_new(diagnose(self.history.rows, self.terms))
        now = time.monotonic()
        if self.show_status and (now - self._last_status >= self.STATUS_EVERY or step == self.total_steps):
            self._last_status = now
            say(self.status_line(row))

    def warn_new(self, findings: list[Finding]) -> None:
        """Print the findings not printed before in this run."""
        for finding in findings:
            if finding.key not in self._warned:
                self._warned.add(finding.key)
                say(f"warning: step {self.step}: {finding.message}", self.quiet)

    def status_line(self, row: Mapping[str, Any]) -> str:
        """One line for a log file: step, phase, total and per-term losses, latest errors, time spent and left."""
        step = row["step"]
        terms = ", ".join(f"{k} {row[f'loss:{k}']:.2e}" for k in self.terms if f"loss:{k}" in row)
        errors = ", ".join(f"{k} {v:.2e}" for k, v in self._errors.items())
        left = self.elapsed / max(step, 1) * (self.total_steps - step)
        return (
            f"step {step}/{self.total_steps} {row['phase']}: loss {row['loss']:.3e} ({terms})"
            + (f"; error {errors}" if errors else "")
            + f"; {self.elapsed:.0f} s, about {left:.0f} s left"
        )

    def predict(self, points: np.ndarray) -> np.ndarray:
        """The network at ``[N, d]`` points as float64 numpy (no gradient)."""
        with torch.no_grad():
            return self.net(self._tensor(points)).cpu().double().numpy()

    def interrupted(self) -> Result:
        """Save a checkpoint at the last completed step and say how to resume."""
        self.save()
        spec = self.compiled.problem.source.path
        how = (
            f"pdec.fit(compiled, resume='{self.run_dir}')"
            if spec.startswith("<")
            else f"pdec run {spec} --resume {self.run_dir}"
        )
        saved = f"interrupted at step {self.step}/{self.total_steps}; checkpoint saved in {self.run_dir}"
        say(f"{saved}\nresume with: {how}")
        return self.result(self.metrics(), interrupted=True)

    def finish(self) -> Result:
        """Final evaluation, metrics, diagnoses, checkpoint, history CSV and plots."""
        metrics = self.metrics()
        findings = diagnose(self.history.rows, self.terms, final=True)
        metrics["warnings"] = [f.message for f in findings]
        write_json(self.run_dir / METRICS, metrics)
        if self.compiled.problem.unknowns:
            if self.unknowns.raw:
                self.check_identifiability(self.points(self.step or 1, self.terms))
            self.report_unknowns(metrics)
        self.save(finished=True)
        result = self.result(metrics)
        if self.plots:
            self.plot()
        errors = ", ".join(f"{k} {v:.3e}" for k, v in metrics["errors"].items())
        say(
            f"done: {self.step} steps in {self.elapsed:.1f} s, loss {metrics['loss']:.3e}"
            + (f", relative L2 error {errors}" if errors else "")
            + f"; run directory {self.run_dir}",
            self.quiet,
        )
        for finding in findings:
            say(f"warning: {finding.message}", self.quiet)
        return result

    def report_unknowns(self, metrics: Mapping[str, Any]) -> None:
        """Print the discovered unknowns against their initial and true values; save them as unknowns.json."""
        from pdec.inverse import format_table, unknowns_table

        problem = self.compiled.problem
        rows = unknowns_table(problem.unknowns, {u.name: u.init for u in problem.unknowns}, metrics["unknowns"])
        write_json(self.run_dir / UNKNOWNS, {"unknowns": rows, "warnings": self.identifiability or []})
        say(format_table(rows), self.quiet)

    def plot(self) -> None:
        """Loss and weight histories; the solution against the evaluation set when there is one."""
        solution = None
        if self.evaluation is not None:
            e = self.evaluation
            predicted = self.predict(e.points)[:, e.columns]
            solution = Solution(tuple(self.compiled.variables), e.fields, e.points, predicted, e.values)
        truth = {u.name: u.true for u in self.compiled.problem.unknowns}
        plot_run(self.run_dir, self.history, solution, truth)

    def metrics(self) -> dict[str, Any]:
        """Final losses (fresh evaluation), errors, unknowns (and their errors against ``true``), timings."""
        with torch.enable_grad():
            found = self.losses(self.points(self.step or 1, self.terms), self.terms)
            losses = {k: float(v.detach()) for k, v in found.items()}
        errors = self.evaluation.errors(self.predict) if self.evaluation is not None else {}
        unknowns = self.unknowns.floats()
        truth = {u.name: u.true for u in self.compiled.problem.unknowns if u.true is not None}
        unknown_errors = {k: abs(unknowns[k] - t) / (abs(t) if t else 1.0) for k, t in truth.items() if k in unknowns}
        w = self.balancer.weights
        return {
            "steps": self.step,
            "adam_steps": min(self.step, self.settings.adam),
            "lbfgs_steps": max(0, self.step - self.settings.adam),
            "loss": sum(w[k] * v for k, v in losses.items()),
            "losses": losses,
            "weights": dict(w),
            "errors": errors,
            "unknowns": unknowns,
            "unknown_errors": unknown_errors,
            "wall_time": self.elapsed,
            "rollbacks": self.rollbacks,
            "lr_scale": self.lr_scale,
            "device": str(self.device),
            "dtype": self.settings.dtype,
            "torch_threads": torch.get_num_threads(),
        }

    def result(self, metrics: dict[str, Any], interrupted: bool = False) -> Result:
        """The Result record of this run."""
        return Result(
            self.net,
            tuple(self.compiled.variables),
            tuple(self.compiled.fields),
            self.unknowns.floats(),
            self.history,
            metrics,
            self.run_dir,
            self.settings,
            interrupted,
        )


def _names(exprs: Any, kind: type) -> set[str]:
    """Names of the symbols (``sympy.Symbol``) or applied fields (``AppliedUndef``) in ``exprs``."""
    found: set[str] = set()
    for e in exprs:
        found |= {a.name if kind is sympy.Symbol else a.func.__name__ for a in e.atoms(kind)}
    return found


def _first_bad_row(term: str, residual: torch.Tensor | None, points: Mapping[str, torch.Tensor], compiled: Any) -> str:
    """``term (not finite at x = 0, t = 0.5; 3 of 200 rows)``, naming the first point of a NaN/Inf residual row."""
    if residual is None:
        return term
    bad = (~torch.isfinite(residual.detach())).any(1).nonzero()
    if not len(bad):
        return f"{term} (its residual is finite when evaluated again; its mean square may have overflowed)"
    rows = torch.cat([points[p] for p in compiled.terms[term].point_sets if p in points])
    at = ", ".join(f"{v} = {float(c):.4g}" for v, c in zip(compiled.variables, rows[int(bad[0])], strict=True))
    return f"{term} (not finite at {at}; {len(bad)} of {len(residual)} rows)"


def _crossed(previous: int, step: int, every: int) -> bool:
    """Whether a multiple of ``every`` lies in ``(previous, step]``."""
    return step // every > previous // every


__all__ = ["Trainer", "train"]
