"""Fitting (CompiledProblem -> Result): the one place that knows both the trainer and time marching.

``fit(compiled, **options)`` trains one network (pdec.train.trainer), or, for a spec with time windows, one network
per window (pdec.train.marching), which the trainer is handed rather than importing: marching builds on the trainer;
a spec with a ``discover(...)`` library trains in rounds that make it sparse (pdec.train.discovery).
Around the training it adds what reads the run from outside: the TensorBoard log of the history rows (a step callback,
pdec.run.tensorboard) and, at the end, the solution for ParaView in the run directory (pdec.run.vtu).
``pdec.fit`` is this function; ``pdec run`` calls it.
"""

from __future__ import annotations

from typing import Any


def fit(compiled: Any, **options: Any) -> Any:
    """Train a compiled problem and return its Result (a ``pdec.run.results.Result``).

    Args:
        compiled: a CompiledProblem (``pdec.compile``; see docs/architecture.md).
        **options: ``out``, ``resume``, ``quiet``, ``callback``, ``plots``, ``vtu`` (write ``solution.vtu`` at the
            end; default: as ``plots``) and training settings replacing the spec's (``adam=200``,
            ``weighting="fixed"``, ``tensorboard=True``, ...), as ``pdec.train.trainer.train`` takes them.
    """
    from pdec.run.tensorboard import TensorBoardLog, check_available
    from pdec.train.console import main_process
    from pdec.train.discovery import discover
    from pdec.train.marching import train_windows  # torch: imported when a run starts, not with pdec
    from pdec.train.trainer import train

    vtu = options.pop("vtu", None)
    if "scale" in options:
        from pdec.core.errors import PdecRunError

        raise PdecRunError("'scale' is a compile-time setting: the trainer cannot change it",
                           hint="pass it to the compiler: pdec.compile(spec, scale=False)")
    if options.get("tensorboard", getattr(compiled.settings, "tensorboard", False)) and options.get("resume") is None:
        check_available()  # before training (a resumed run's settings are checked at its first step)
    log = TensorBoardLog(main_process(), options.pop("callback", None))
    try:
        if getattr(compiled, "problem", None) is not None and compiled.problem.libraries:  # equation discovery
            result = discover(compiled, callback=log, **options)
        else:
            result = train(compiled, march=train_windows, callback=log, **options)
    finally:
        log.close()
    if (options.get("plots", True) if vtu is None else vtu) and not result.interrupted and main_process():
        write_solution_file(compiled, result, bool(options.get("quiet")), asked=bool(vtu))
    if getattr(compiled, "scaling", None) is not None:
        in_user_units(compiled, result, options.get("plots", True) and main_process(), bool(options.get("quiet")))
    return result


def in_user_units(compiled: Any, result: Any, plots: bool, quiet: bool = False) -> None:
    """A non-dimensionalised run in the user's units: its network wrapped (``predict``), its errors, ``scales.json``.

    ``metrics["errors"]`` become the relative L2 errors in the user's units (the trainer's, of the scaled fields,
    move to ``metrics["scaled_errors"]``); the solution plot is redrawn in the user's units.
    """
    import numpy as np
    import torch

    from pdec.run.results import METRICS, Solution, plot_run, write_json
    from pdec.run.scales import relative_errors, rescaled, rescaled_functions, user_points, user_values, write_scales
    from pdec.train.console import main_process, say
    from pdec.train.sampling import eval_points

    scales = compiled.scaling.to_dict()
    variables, fields = tuple(compiled.variables), tuple(compiled.fields)
    if compiled.reference is not None:
        points, truth, known = compiled.reference.points, compiled.reference.values, tuple(compiled.reference.fields)
    else:
        points = eval_points(compiled.bounds, result.settings.eval_points, compiled.domain)
        exact = compiled.exact(torch.as_tensor(points, dtype=torch.float64))
        exact = None if exact is None else exact.detach().cpu().double().numpy()
        columns = [] if exact is None else [j for j in range(exact.shape[1]) if np.isfinite(exact[:, j]).all()]
        truth, known = (exact[:, columns] if columns else None), tuple(fields[j] for j in columns)
    result.net = rescaled(result.net, scales, variables, fields)
    if truth is not None:
        points = user_points(scales, variables, points)
        predicted = result.predict(points)[:, [fields.index(f) for f in known]]
        truth = user_values(scales, known, truth)
        result.metrics["scaled_errors"] = result.metrics.get("errors", {})
        result.metrics["errors"] = relative_errors(predicted, truth, known)
        shown = ", ".join(f"{k} {v:.3e}" for k, v in result.metrics["errors"].items())
        say(f"in the spec's units (the errors above are of the scaled fields): relative L2 error {shown}", quiet)
    tables = _user_function_tables(compiled, result, scales)
    result.functions = rescaled_functions(result.functions, scales)
    for name, table in tables.items():
        error = "" if table.true is None else f", relative L2 error {100 * table.relative_error:.3g}% against the true"
        say(f"in the spec's units: {name}({', '.join(table.args)}) in [{table.values.min():.4g}, "
            f"{table.values.max():.4g}] (SI){error}", quiet)
    if result.run_dir is None or not main_process():
        return
    write_scales(result.run_dir, scales)
    write_json(result.run_dir / METRICS, result.metrics)
    if tables:
        _write_function_tables(result.run_dir, tables, plots)
    if plots and truth is not None and points.shape[1] <= 2:
        truths = {name: u.true for name, u in compiled.unknowns.specs.items()}
        plot_run(result.run_dir, result.history, Solution(variables, known, points, predicted, truth), truths)


def _user_function_tables(compiled: Any, result: Any, scales: dict) -> dict:
    """The unknown functions of a scaled run on the grid of their variables, in the user's units (values SI)."""
    from pdec.run.functions import FunctionTable, tabulate
    from pdec.run.scales import affine, user_points

    tables = {}
    for name, f in result.functions.items():
        table = tabulate(f, [compiled.bounds[a] for a in f.args], compiled.truths.get(name))
        ((offset, scale),) = affine(scales, "functions", [name])
        true = None if table.true is None else offset + scale * table.true
        tables[name] = FunctionTable(
            name, f.args, user_points(scales, f.args, table.points), offset + scale * table.values, true
        )
    return tables


def _write_function_tables(run_dir: Any, tables: dict, plots: bool) -> None:
    """Rewrite ``functions/NAME.csv``, their summaries in unknowns.json and their plots in the user's units."""
    import json

    from pdec.run.functions import FUNCTIONS, plot_table, write_table
    from pdec.run.results import PLOTS, UNKNOWNS, write_json

    path = run_dir / UNKNOWNS
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    report["functions"] = {name: t.summary(f"{FUNCTIONS}/{name}.csv") for name, t in tables.items()}
    write_json(path, report)
    for name, table in tables.items():
        write_table(run_dir / FUNCTIONS / f"{name}.csv", table)
        if plots and len(table.args) <= 2:
            plot_table(run_dir / PLOTS / f"function_{name}.png", table)


def write_solution_file(compiled: Any, result: Any, quiet: bool, asked: bool = False) -> None:
    """``RUN/solution.vtu``: the solution at the reference's points, else at the evaluation points and the boundary.

    Without meshio the file is skipped: silently by default, with the install hint when ``vtu=True`` asked for it.
    """
    from pdec.run.vtu import MISSING, VTU, write_solution
    from pdec.train.console import say
    from pdec.train.sampling import eval_points

    if result.run_dir is None:
        return
    reference = compiled.reference
    if reference is not None:
        points = reference.points
    else:
        points = eval_points(compiled.bounds, result.settings.eval_points, compiled.domain)
    written = write_solution(result.run_dir / VTU, result, points, compiled, reference, boundary=reference is None)
    if written is None and asked:
        say(f"{VTU} not written: {MISSING}", quiet)
