"""Equation discovery: a spec with a ``discover(...)`` library -> rounds of training and thresholding -> Discovery.

Sequential thresholding with retraining (Brunton et al. 2016's STLSQ, as PINN-SR, Chen et al. 2021, and DeepMoD,
Both et al. 2021, apply it to a network trained with the library; docs/training.md, "Equation discovery")::

    round 0: train the network and every coefficient (the spec's settings)
    measure each term's share: the RMS of coefficient * term over fixed points in the domain, divided by the RMS of
        the equation's largest term (the terms outside the library counted as one)
    drop the terms whose share is below discover_threshold, smallest first and at most half of each library's
        terms in a round: their coefficients are fixed at zero (a new compiled problem, pdec.language.library.prune)
    round k: retrain from where round k - 1 ended (its network, the kept coefficients' values), discover_adam Adam
        steps and discover_iterations second-phase iterations; measure again; stop when no term is dropped

The share is scale-free: it does not change when a variable, a field or a term is rescaled, where a threshold on the
bare coefficients would. Each round is an ordinary run in ``RUN/round-K``; the top of the run directory holds the
spec and the files of pdec.run.discovered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.compiler.driver import compile as compile_problem
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings, Stage, torch_dtype
from pdec.language.library import discovered_text, latex, prune
from pdec.language.problem import Kind, Library, Problem, term_name
from pdec.run.discovered import JSON, SPEC, TEX, Discovery, Equation, Round, Term
from pdec.run.intervals import linearise
from pdec.run.results import CHECKPOINT, SETTINGS, Result, load_checkpoint, load_result, read_settings, write_json
from pdec.run.results import SPEC as SPEC_COPY
from pdec.train import checkpoint
from pdec.train.console import main_process, say
from pdec.train.sampling import eval_points
from pdec.train.trainer import Trainer, default_run_dir, run_settings

ROUND_DIR = "round-{}"
ROUND = re.compile(r"round-\d+")
DATA_FIT = "data-fit"  # the readings alone, before round 0
POINTS = 2000  # the fixed points in the domain where the terms' shares are measured


def discover(compiled: Any, *, out: str | Path | None = None, resume: str | Path | None = None,
             quiet: bool | None = None, callback: Any = None, plots: bool = True, **overrides: Any) -> Result:
    """Train a spec with libraries in rounds until no term is dropped; the last round's Result with ``discovery``.

    Args are ``pdec.fit``'s; ``overrides`` apply to every round (the retraining rounds then take ``discover_adam``
    and ``discover_iterations`` steps).
    """
    if resume is not None:
        run_dir = discovery_dir(Path(resume))
        saved = run_dir / SETTINGS
        settings = run_settings(compiled, read_settings(run_dir) if saved.is_file() else compiled.settings, overrides)
        copy = run_dir / SPEC_COPY
        if copy.is_file() and copy.read_text() != compiled.spec.text:
            say(f"warning: the spec differs from the copy in {run_dir}; continuing with the spec given now")
    else:
        settings = run_settings(compiled, compiled.settings, overrides)
        run_dir = Path(out) if out is not None else default_run_dir(compiled)
        if (run_dir / JSON).exists() or (run_dir / DATA_FIT).exists() or (run_dir / ROUND_DIR.format(0)).exists():
            raise PdecRunError(f"'{run_dir}' already holds a run",
                               hint=f"continue it with --resume {run_dir}, or choose another --out")
        if main_process():
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / SPEC_COPY).write_text(compiled.spec.text)
            write_json(run_dir / SETTINGS, settings.to_dict())
    options = {"quiet": quiet, "callback": callback, "plots": plots}
    written = {lib.equation: lib for lib in compiled.problem.libraries}  # every candidate, as the spec lists them
    say(f"discovering: {describe_library(compiled.problem)}", bool(quiet))
    started = first_round(compiled, settings, run_dir, options)
    if isinstance(started, Result):
        return started  # interrupted while fitting the data
    compiled, net, first = started
    problem, rounds = compiled.problem, []
    for k in range(settings.discover_rounds + 1):
        round_settings, round_dir = first if k == 0 else retraining(settings), run_dir / ROUND_DIR.format(k)
        trainer = Trainer(compiled, round_settings, round_dir, net=net, **options)
        say(f"discovery round {k}: {describe_library(problem)}", bool(quiet))
        result = run_or_load(trainer, compiled.spec.text)
        if result.interrupted:
            return result
        shares = term_shares(trainer, problem)
        drop = to_drop(shares, problem, settings.discover_threshold)
        state = trainer.state
        found = Round(k, {n: result.unknowns[n] for n in shares}, shares, drop, state.step, state.elapsed,
                      float(result.metrics.get("loss", float("nan"))))
        rounds.append(found)
        say(round_line(found, problem), bool(quiet))
        if not drop or k == settings.discover_rounds:
            break
        problem = prune(problem, drop, result.unknowns)
        compiled, net = compile_problem(problem), trainer.state.net.to(torch_dtype(settings.dtype))
    discovery = summarise(problem, written, rounds, result, settings.discover_threshold, run_dir)
    if main_process():
        write(discovery, run_dir)
    say(str(discovery) + f"\nthe discovered spec: {run_dir / SPEC}", bool(quiet))
    result.discovery = discovery
    return result


def discovery_dir(path: Path) -> Path:
    """The discovery's run directory for ``--resume PATH``: PATH, or its parent when PATH is one round's run."""
    if path.name == DATA_FIT or ROUND.fullmatch(path.name):
        path = path.parent
    if not (path / DATA_FIT).is_dir() and not (path / ROUND_DIR.format(0)).is_dir():
        raise PdecRunError(f"'{path}' is not the run directory of an equation discovery",
                           hint="pass the directory `pdec run` made for the spec with discover(...)")
    if (path / JSON).is_file():
        raise PdecRunError(f"the discovery in '{path}' has finished", hint=f"its result: {path / JSON}")
    return path


def run_or_load(trainer: Trainer, text: str) -> Result:
    """Run ``trainer`` in its directory, from its checkpoint where one is saved (a resumed discovery).

    A round that had finished is not run again: its result is loaded, and the trainer holds its final state.
    """
    folder = trainer.setup.run_dir
    if not (folder / CHECKPOINT).is_file():
        checkpoint.create_run_dir(folder, text, trainer.settings)
        return trainer.run()
    saved = load_checkpoint(folder)
    trainer.resume(saved)  # the network and unknowns as the round left them, whether it finished or not
    return load_result(folder) if saved.get("finished") else trainer.run()


def first_round(compiled: Any, settings: Settings, run_dir: Path, options: Mapping[str, Any]) -> Any:
    """Round 0's start: the data alone, then each library regressed on the fitted network.

    The network first fits the readings alone for ``data_first`` of the Adam steps (``RUN/data-fit``; the
    equations without their libraries, so no unknowns). Then each equation's library is regressed on that network
    at fixed points of the domain (least squares with the columns scaled to one size, as SINDy regresses on
    derivatives of the data): the coefficients start there, and each takes as ``scale`` the coefficient that makes
    its term as large as the equation's terms outside the library, so the optimisers see every coefficient at unit
    size whatever its term's magnitude (``u_xxx`` at a shock is 10^5 times ``u``). Returns the compiled problem with
    those starts and scales, the network and the settings of the rest of round 0 (or, when the run was stopped, its
    Result). With ``stage:`` lines, ``data_first = 0`` or no readings, round 0 trains as the spec says.
    """
    problem = compiled.problem
    data = tuple(t.bare for t in compiled.terms.values() if t.kind == Kind.DATA)
    steps = int(settings.data_first * settings.adam)
    if settings.stages or not steps or not data:
        return compiled, None, settings
    names = [c.name for lib in problem.libraries for c in lib.candidates]
    fit = dataclasses.replace(settings.replace(adam=steps, iterations=0), stages=(Stage(data, steps),))
    fitting = compile_problem(prune(problem, names))
    trainer = Trainer(fitting, fit, run_dir / DATA_FIT, net=None, **{**options, "plots": False})
    say(f"fitting the readings alone for {steps} Adam steps", bool(options.get("quiet")))
    result = run_or_load(trainer, fitting.spec.text)
    if result.interrupted:
        return result
    starts, scales = regress(compiled, trainer.state.net, problem)
    rest = dataclasses.replace(settings.replace(adam=settings.adam - steps, data_first=0.0), stages=())
    text = {c.name: c.text for lib in problem.libraries for c in lib.candidates}
    say("least squares on the fitted network: " + ", ".join(f"{text[n]} {v:.4g}" for n, v in starts.items()),
        bool(options.get("quiet")))
    return compile_problem(prune(problem, (), starts, scales)), trainer.state.net, rest


def regress(compiled: Any, net: Any, problem: Problem) -> tuple[dict[str, float], dict[str, float]]:
    """Each library's least-squares coefficients on ``net`` at fixed points, and each coefficient's scale.

    The residual is linear in the coefficients: at zero it is the equation's terms outside the library ``F``, and
    its column for a coefficient is the term ``T`` (signed). The columns are scaled to unit RMS before the solve;
    a coefficient's scale is ``RMS(F) / RMS(T)``.
    """
    lin = linearised(compiled, net, compiled.unknowns, problem)
    column = {name: i for i, name in enumerate(lin.unknowns)}
    starts, scales = {}, {}
    for lib in problem.libraries:
        rows = lin.blocks[term_name(Kind.PDE, lib.equation)].rows
        columns = np.stack([lin.jacobian[rows, column[n]] for n in lib.names], axis=1)
        size = np.sqrt(np.mean(np.square(columns), axis=0))
        size = np.where(size > 0, size, 1.0)
        solved = np.linalg.lstsq(columns / size, -lin.residual[rows], rcond=None)[0] / size
        rest = _rms(lin.residual[rows]) or 1.0
        for n, value, s in zip(lib.names, solved, size, strict=True):
            starts[n], scales[n] = float(value), float(rest / s)
    return starts, scales


def linearised(compiled: Any, net: Any, unknowns: Any, problem: Problem) -> Any:
    """The equations with libraries linearised in the unknowns (no network columns) at ``POINTS`` fixed points."""
    compiled = compiled.replace(unknowns=unknowns)
    sets = {s for lib in problem.libraries for s in compiled.terms[term_name(Kind.PDE, lib.equation)].point_sets}
    fixed = torch.as_tensor(eval_points(compiled.bounds, POINTS, compiled.domain), dtype=torch.float64)
    with torch.enable_grad():
        return linearise(compiled, net, {s: fixed for s in sets}, {}, network=0)


def retraining(settings: Settings) -> Settings:
    """The settings of a retraining round: ``discover_adam`` and ``discover_iterations`` steps, no data-only start."""
    again = settings.replace(adam=settings.discover_adam, iterations=settings.discover_iterations, data_first=0.0)
    return dataclasses.replace(again, stages=())


def term_shares(trainer: Trainer, problem: Problem) -> dict[str, float]:
    """Each library coefficient -> the RMS of its term (times its value) over the RMS of its equation's largest term.

    Measured on the trained network at ``POINTS`` fixed points of the domain, by linearising the equations in the
    unknowns (pdec.run.intervals.linearise: the residual is linear in each coefficient, so its column is the term);
    the terms outside the library count as one.
    """
    lin = linearised(trainer.compiled, trainer.state.net, trainer.state.unknowns, problem)
    column = {name: i for i, name in enumerate(lin.unknowns)}
    shares: dict[str, float] = {}
    for lib in problem.libraries:
        rows = lin.blocks[term_name(Kind.PDE, lib.equation)].rows
        parts = {n: lin.unknowns[n] * lin.jacobian[rows, column[n]] for n in lib.names}
        rest = lin.residual[rows] - sum(parts.values(), start=np.zeros_like(lin.residual[rows]))
        sizes = {n: _rms(p) for n, p in parts.items()}
        largest = max([_rms(rest), *sizes.values()])
        shares.update({n: (s / largest if largest > 0 else 0.0) for n, s in sizes.items()})
    return shares


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if values.size else 0.0


def describe_library(problem: Problem) -> str:
    """``burgers: u*u_x, u_xx, u (3 terms)`` for each library."""
    return "; ".join(f"{lib.equation}: {', '.join(c.text for c in lib.candidates)} ({len(lib.candidates)} terms)"
                     for lib in problem.libraries)


def to_drop(shares: Mapping[str, float], problem: Problem, threshold: float) -> tuple[str, ...]:
    """The terms a round drops: those whose share is below ``threshold``, smallest first, at most half of each
    library's remaining terms (at least one).

    Gradual pruning: while a spurious term still stands in for a true one (``u^3`` for Fisher's ``u_xx`` in a noisy
    round 0, both near the threshold), the true term's share can fall below it too; dropping them all at once then
    removes the true term for good. Keeping the larger half for another round lets the retrained network settle
    first (benchmarks/results/discovery_fisher.md).
    """  # noqa: D205
    out: list[str] = []
    for lib in problem.libraries:
        names = [c.name for c in lib.candidates if c.name in shares]
        below = sorted((shares[n], n) for n in names if shares[n] < threshold)
        out += [n for _, n in below[: max(1, len(names) // 2)]]
    return tuple(out)


def round_line(found: Round, problem: Problem) -> str:
    """What a round measured: each term's coefficient and share, and the terms it drops."""
    text = {c.name: c.text for lib in problem.libraries for c in lib.candidates}
    shares = ", ".join(f"{text[n]} {found.values[n]:.4g} (share {s:.3g})" for n, s in found.shares.items())
    dropped = ", ".join(text[n] for n in found.dropped) or "none"
    return f"round {found.index}: {shares}; dropped: {dropped}"


def summarise(problem: Problem, written: Mapping[str, Library], rounds: list[Round], result: Result, threshold: float,
              run_dir: Path) -> Discovery:
    """The Discovery record of the rounds: every candidate ``written`` in the spec's libraries, kept or dropped."""
    final = rounds[-1]
    dropped_in = {n: r.index for r in rounds for n in r.dropped}
    shares = {n: s for r in rounds for n, s in r.shares.items()}  # the last measurement of each
    values = {n: (final.values[n] if n in final.values and n not in final.dropped else 0.0) for n in shares}
    stable = not final.dropped
    if final.dropped:  # the rounds ran out: the last round's terms stay, small or not
        dropped_in = {n: k for n, k in dropped_in.items() if n not in final.dropped}
    intervals = result.intervals.unknowns if result.intervals is not None else {}
    equations = {}
    for lib in problem.libraries:
        terms = tuple(
            Term(c.name, c.text, values.get(c.name, 0.0), c.name not in dropped_in, shares.get(c.name, 0.0),
                 dropped_in.get(c.name), intervals.get(c.name) if c.name not in dropped_in else None)
            for c in written[lib.equation].candidates
        )
        equations[lib.equation] = Equation(lib.equation, equation_text(problem, lib, values),
                                           latex(problem, lib.equation, values), terms)
    spec = discovered_text(problem.source, problem.libraries, values, run_dir)
    return Discovery(equations, tuple(rounds), threshold, stable, spec, run_dir)


def equation_text(problem: Problem, lib: Library, values: Mapping[str, float]) -> str:
    """The equation as written, with its library replaced by the discovered sum: ``u_t = -1.00002*u*u_x + ...``."""
    eq = next(e for e in problem.equations if e.name == lib.equation)
    source = eq.span.source
    text = discovered_text(source, [lib], values)
    shift = len(text) - len(source.text)
    statement = text[eq.span.start : eq.span.end + shift]
    return statement.partition(":")[2].strip()


def write(discovery: Discovery, run_dir: Path) -> None:
    """``discovered.json``, ``discovered.tex`` and ``discovered.pde`` at the top of the run directory."""
    write_json(run_dir / JSON, discovery.to_dict())
    (run_dir / TEX).write_text(discovery.latex())
    (run_dir / SPEC).write_text(discovery.spec)


__all__ = ["discover", "term_shares"]
