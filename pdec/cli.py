"""The ``pdec`` command line: a table of subcommands, each a (configure parser, run) pair.

Exit codes: 0 success, 1 an error the user can fix (a PdecError, or an OSError on a path they gave: printed to
stderr as ``path: error: message``, without a traceback), 2 a usage error (argparse), 70 an internal error (a bug in
pdec: the traceback, and a line asking for a report), 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdec.core.errors import PdecError
from pdec.core.settings import DTYPES, LOWERINGS, OPTIMIZERS, SAMPLERS, WEIGHTINGS


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line help, how to add its arguments, and how to run it (returning an exit code)."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    value = int(text)
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {2**31 - 1}, got {text}")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to 2**31 - 1."""
    value = int(text)
    if not 0 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {2**31 - 1}, got {text}")
    return value


def noise_level(text: str) -> float:
    """An argparse type: a finite relative noise level >= 0."""
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="spec files (.pde) to check")
    parser.add_argument("--latex", action="store_true", help="print the equations and conditions as LaTeX")


def _scales(problem: object) -> str:
    """What a spec with units trains on: its scales, or that it trains as written (``scale = false``)."""
    from pdec.language.scaling import describe, scaled

    if not problem.settings.scale:
        return "scales: none (scale = false): trained in the units as written, converted to SI"
    return "\n".join(describe(scaled(problem))) or "scales: none needed"


def _run_check(args: argparse.Namespace) -> int:
    """Check each file; print its summary (or LaTeX) to stdout and its errors and warnings to stderr."""
    from pdec.language.display import describe, latex
    from pdec.language.frontend import load

    status = 0
    for i, path in enumerate(args.files):
        try:
            problem = load(Path(path))  # command-line arguments are paths, whatever their suffix
            scales = _scales(problem) if problem.units is not None and not args.latex else None
        except PdecError as error:
            print(error, file=sys.stderr)
            status = 1
            continue
        if i:
            print()
        print(latex(problem) if args.latex else describe(problem))
        if scales is not None:
            print(scales)
        for warning in problem.warnings:
            print(warning, file=sys.stderr)
    return status


def _configure_sample(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="FILE", help="a spec with an `exact:` solution")
    parser.add_argument("-n", type=positive_int, default=1000, help="number of observations (default 1000)")
    parser.add_argument("--noise", type=noise_level, default=0.0, help="relative Gaussian noise level, e.g. 0.01")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the points and the noise (default 0)")
    parser.add_argument("--sampler", default="sobol", help="random, lhs, sobol, halton or grid (default sobol)")
    parser.add_argument("-o", "--output", required=True, help="CSV file to write (header: variables, then fields)")


def _run_sample(args: argparse.Namespace) -> int:
    """Write synthetic observations of a spec's exact solution, for identifiability studies."""
    from pdec.compiler.driver import compile as compile_spec
    from pdec.train.inverse import sample_exact, write_csv

    if args.sampler not in SAMPLERS:
        raise PdecError(f"unknown sampler '{args.sampler}'", hint="choices: " + ", ".join(SAMPLERS))
    compiled = compile_spec(Path(args.spec), dtype="float64")
    points, values, fields = sample_exact(compiled, args.n, noise=args.noise, seed=args.seed, sampler=args.sampler)
    write_csv(args.output, compiled.variables + fields, points, values)
    print(f"wrote {len(points)} observations of {', '.join(fields)} to {args.output}", file=sys.stderr)
    return 0


def _configure_compiled(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="FILE", help="a spec file (.pde)")
    parser.add_argument("--dtype", choices=DTYPES, help="floating-point type of the generated code")
    parser.add_argument("--lowering", choices=LOWERINGS, help="how derivatives are computed (default: the spec's)")


def _configure_emit(parser: argparse.ArgumentParser) -> None:
    _configure_compiled(parser)
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def _compiled(args: argparse.Namespace):
    """Compile the spec named on the command line (with its --dtype and --lowering, if given)."""
    from pdec.compiler.driver import compile as compile_spec

    given = {"dtype": args.dtype, "lowering": args.lowering}
    return compile_spec(Path(args.spec), **{k: v for k, v in given.items() if v})


def _run_plan(args: argparse.Namespace) -> int:
    """Print each derivative, its parent, and the backward passes per evaluation."""
    from pdec.compiler.driver import format_plan

    print(format_plan(_compiled(args)))
    return 0


def _run_emit(args: argparse.Namespace) -> int:
    """Write the generated residual module (torch only, no pdec import)."""
    from pdec.compiler.driver import emit

    source = emit(_compiled(args))
    if args.output:
        Path(args.output).write_text(source)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(source, end="")
    return 0


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``pdec run`` arguments: the spec and the training overrides."""
    parser.add_argument("spec", help="the .pde spec to train")
    parser.add_argument(
        "--steps", "--adam", dest="adam", type=int, help="Adam steps (settings.adam; per window with `windows`)"
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="the second phase's optimiser (after Adam)")
    parser.add_argument("--iterations", type=int, help="second-phase iterations after Adam (per window with `windows`)")
    parser.add_argument("--lbfgs", type=int, help="shorthand for --optimizer lbfgs --iterations N")
    parser.add_argument("--device", help="cpu, cuda or cuda:N")
    parser.add_argument("--dtype", choices=DTYPES)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--sampler", choices=SAMPLERS)
    parser.add_argument("--weighting", choices=WEIGHTINGS)
    parser.add_argument("--out", metavar="DIR", help="run directory (default runs/<spec stem>-<timestamp>)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.add_argument("--tensorboard", action="store_true", default=None,
                        help="log the history rows for TensorBoard in RUN/tensorboard (settings.tensorboard)")
    parser.add_argument("--threads", type=threads, help="torch CPU threads (default 1 on a CPU)")
    parser.add_argument(
        "--nproc", type=positive_int, help="train on N processes of this machine (starts torchrun; docs/distributed.md)"
    )


# `pdec run` on a CPU uses one torch thread unless --threads says otherwise: PINN-sized networks gain little from
# more threads, and on a shared machine (CI, a laptop running other work) extra threads contend and can make a step
# many times slower (docs/training.md, "Devices, precision, threads"). The Python API leaves torch's setting alone.
DEFAULT_THREADS = 1


def threads(text: str) -> int:
    """An argparse type: a thread count from 1 to 1024."""
    value = int(text)
    if not 1 <= value <= 1024:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1024, got {text}")
    return value


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep the memory a run frees for its next allocation (Linux; a no-op elsewhere).

    By default glibc serves every block over 32 MB (and, as its threshold adapts, many smaller ones) by ``mmap`` and
    hands it back to the kernel on ``free``: a training step that allocates and frees the same large tensors (a
    Jacobian, its Gram matrix, a batch's derivatives) then pays page faults for fresh zeroed pages every time. With no
    ``mmap`` blocks and a high trim threshold the freed memory stays in the heap and is reused. Measured on
    examples/poisson_boltzmann.pde with Levenberg-Marquardt (one CPU thread, side by side): system time 12.3 s ->
    0.5 s and the run 58.8 -> 46.9 CPU s (docs/training.md, "Devices, precision, threads"). The cost is that the
    process keeps its peak memory until it ends, so only the command line's own process does it, as with its thread
    count; the same is ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824`` in the environment of a Python
    process. Returns whether it took effect.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
        return bool(libc.mallopt(m_mmap_max, 0)) and bool(libc.mallopt(m_trim_threshold, 2**30))
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False


def cmd_run(args: argparse.Namespace) -> int:
    """``pdec run FILE``: compile, train, write the run directory; exit 130 when interrupted (resumable)."""
    if getattr(args, "nproc", None) and args.nproc > 1:
        return launch(args.nproc, run_arguments(args))
    import torch

    from pdec.compiler.driver import compile as compile_spec
    from pdec.fit import fit
    from pdec.train.distributed import process_group

    names = ("adam", "optimizer", "iterations", "lbfgs", "device", "dtype", "seed", "sampler", "weighting",
             "tensorboard")
    overrides = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    count = getattr(args, "threads", None)
    if count is None and not str(overrides.get("device", "cpu")).startswith("cuda"):
        count = DEFAULT_THREADS
    if count is not None:
        torch.set_num_threads(count)  # process-wide: this is the command line's own process
    keep_freed_memory()  # also process-wide
    compiled = compile_spec(Path(args.spec))
    with process_group(overrides.get("device", compiled.settings.device)):  # under torchrun: join its group
        result = fit(compiled, out=args.out, resume=args.resume, quiet=True if args.quiet else None, **overrides)
    return 130 if result.interrupted else 0


def run_arguments(args: argparse.Namespace) -> list[str]:
    """The ``pdec run`` command line of parsed arguments, without ``--nproc`` (what each process runs)."""
    out = [args.spec]
    for name in ("adam", "optimizer", "iterations", "lbfgs", "device", "dtype", "seed", "sampler", "weighting", "out",
                 "resume", "threads"):
        value = getattr(args, name, None)
        if value is not None:
            out += [f"--{name}", str(value)]
    return out + (["--quiet"] if args.quiet else []) + (["--tensorboard"] if getattr(args, "tensorboard", None) else [])


def launch(nproc: int, arguments: Sequence[str]) -> int:
    """``pdec run --nproc N ...``: run ``torchrun --standalone --nproc-per-node N -m pdec run ...``; its exit code."""
    import subprocess

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    print(f"pdec: training on {nproc} processes (torchrun)", file=sys.stderr)
    process, interrupted = subprocess.Popen([*command, "-m", "pdec", "run", *arguments]), False
    while True:
        try:
            code = process.wait()
        except KeyboardInterrupt:  # torchrun got it too and passes it on: the processes save a checkpoint and stop
            interrupted = True
            continue
        return 130 if interrupted else code


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``pdec predict`` arguments."""
    parser.add_argument("run_dir", help="a run directory written by `pdec run`")
    parser.add_argument("points", help="CSV of points: a header naming the variables, or columns in variable order")
    parser.add_argument("-o", "--output",
                        help="where to write the predictions: CSV (default: standard output), or VTU for ParaView "
                             "when the name ends in .vtu (with the residuals, the errors and a mesh of the points)")
    parser.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="a parametric run: one value of a parameter for every point (the CSV then leaves its "
                             "column out); repeat for several")


def parameter_values(items: Sequence[str]) -> dict[str, float]:
    """``--param nu=0.01`` items -> ``{"nu": 0.01}`` (PdecRunError for a malformed item)."""
    from pdec.core.errors import PdecRunError

    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not name.strip() or not math.isfinite(value):
            raise PdecRunError(f"--param {item}: expected NAME=VALUE with a finite number", hint="e.g. --param nu=0.01")
        values[name.strip()] = value
    return values


def full_points(points: Any, result: Any, values: dict[str, float]) -> Any:
    """The run's input columns from the CSV's and the ``--param`` values (PdecRunError: missing or out of range)."""
    from pdec.core.errors import PdecRunError
    from pdec.run.parametric import full_points as columns

    try:
        return columns(points, result.variables, result.parameters, values)
    except ValueError as exc:
        hint = f"the run's columns: {', '.join(result.variables)}"
        if result.parameters:
            hint += f"; give {', '.join(result.parameters)} as columns or with --param NAME=VALUE"
        raise PdecRunError(str(exc), hint=hint) from None


def add_infer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``pdec infer`` arguments."""
    parser.add_argument("run_dir", help="a parametric run directory written by `pdec run`")
    parser.add_argument("data", help="CSV of observations: a header naming the variables, known parameters and fields")
    parser.add_argument("--param", action="append", metavar="NAME",
                        help="the parameter to infer (default: every parameter the data leave out); repeat for several")


def cmd_infer(args: argparse.Namespace) -> int:
    """``pdec infer RUN data.csv --param nu``: the parameter values that fit the observations, network frozen."""
    from pdec.run.parametric import infer
    from pdec.run.results import load_result

    print(infer(load_result(args.run_dir), args.data, args.param))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``pdec predict RUN_DIR points.csv``: the trained fields at the given points as CSV (or VTU: ``-o F.vtu``)."""
    from pdec.core.errors import PdecRunError
    from pdec.run.results import SPEC, load_result, read_points_csv, write_predictions

    result = load_result(args.run_dir)
    if not (Path(args.run_dir) / SPEC).is_file():
        raise PdecRunError(f"'{args.run_dir}' has no {SPEC}", hint="pass a directory `pdec run` created")
    values = parameter_values(args.param or [])
    columns = [v for v in result.variables if v not in values]
    try:
        given = read_points_csv(args.points, columns)
    except PdecRunError as error:
        if not result.parameters or error.hint is None:
            raise
        hint = f"{error.hint}; or give {', '.join(result.parameters)} with --param NAME=VALUE"
        raise PdecRunError(error.message, error.span, hint) from None
    points = full_points(given, result, values)
    if args.output and args.output.lower().endswith(".vtu"):
        from pdec.run.vtu import predict_vtu

        for line in predict_vtu(Path(args.output), result, points):
            print(line, file=sys.stderr)
        return 0
    values = result.predict(points)
    if args.output:
        with open(args.output, "w", newline="") as f:
            write_predictions(f, points, values, result.variables, result.fields)
    else:
        write_predictions(sys.stdout, points, values, result.variables, result.fields)
    return 0


COMMANDS: dict[str, Command] = {
    "check": Command("parse and check spec files; print the symbolic problem", _configure_check, _run_check),
    "run": Command("check, compile and train a spec; write a run directory", add_run_arguments, cmd_run),
    "predict": Command("evaluate a trained run at points from a CSV file", add_predict_arguments, cmd_predict),
    "infer": Command("infer a parametric run's parameters from observations (no retraining)", add_infer_arguments,
                     cmd_infer),
    "plan": Command("print each derivative, its parent, and the backward passes", _configure_compiled, _run_plan),
    "emit": Command("write the generated torch residual module", _configure_emit, _run_emit),
    "sample": Command("write synthetic observations of a spec's exact solution", _configure_sample, _run_sample),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of COMMANDS."""
    from pdec import __version__

    parser = argparse.ArgumentParser(prog="pdec", description="A symbolic PDE-to-PINN compiler.")
    parser.add_argument("--version", action="version", version=f"pdec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pdec command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    try:
        return COMMANDS[args.command].run(args)
    except PdecError as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:  # a path the user gave: missing, unwritable, a folder, a full disk
        print(os_error(error), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - the last guard: a bug in pdec, shown in full
        traceback.print_exc()
        print(REPORT, file=sys.stderr)
        return 70


REPORT = (
    "pdec: internal error: this is a bug in pdec, not in your spec; please report it with the traceback above, "
    "the command line and the spec"
)


def os_error(error: OSError) -> str:
    """``path: error: message`` for an OSError on a user path (``error: message`` when it names no path)."""
    reason = error.strerror or str(error)
    if error.filename is None:
        return f"error: {reason}"
    target = f" -> {error.filename2}" if error.filename2 is not None else ""
    return f"{error.filename}{target}: error: {reason}"


if __name__ == "__main__":
    sys.exit(main())
