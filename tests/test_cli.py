"""The ``pdec`` command line: exit codes 0 (valid), 1 (PdecError, no traceback), 2 (usage), and its output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pdec.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
GOOD = "var x in [0, 1]\nfield u(x)\neq poisson: -u_xx = 1\nbc: u = 0 on boundary\n"


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.pde"
    path.write_text(GOOD)
    return path


@pytest.fixture
def bad(tmp_path):
    path = tmp_path / "bad.pde"
    path.write_text("var x in [0, 1]\nfield u(x)\neq: u_xx = nu\n")
    return path


def test_check_valid_file(good, capsys):
    assert main(["check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert "equations:\n  poisson: -u_xx = 1" in out
    assert "variables:\n  x in [0, 1]" in out
    assert err == ""


def test_check_latex(good, capsys):
    assert main(["check", "--latex", str(good)]) == 0
    assert "\\begin{aligned}" in capsys.readouterr().out


def test_check_error_is_rendered_without_traceback(bad, capsys):
    assert main(["check", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"{bad}:3:12: error: unknown name 'nu'")
    assert "   3 | eq: u_xx = nu\n" in err and "^^" in err
    assert "Traceback" not in err and out == ""


def test_check_reports_every_file_and_fails_if_any_fails(good, bad, capsys):
    assert main(["check", str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert "poisson" in out and "unknown name 'nu'" in err


def test_check_warnings_go_to_stderr(tmp_path, capsys):
    path = tmp_path / "warn.pde"
    path.write_text("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\n")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "warning: no boundary condition on 'x'" in err
    assert "warnings:\n" in out


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.pde")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_a_path_without_pde_suffix_is_still_a_path(tmp_path, capsys):
    path = tmp_path / "spec.txt"
    path.write_text(GOOD)
    assert main(["check", str(path)]) == 0


@pytest.mark.parametrize("argv", [[], ["check"], ["frobnicate"], ["check", "--bogus", "x.pde"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_subcommand_table():
    assert "check" in COMMANDS
    assert all(callable(c.run) and callable(c.configure) for c in COMMANDS.values())


def test_module_entry_point_exit_codes(good, bad):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "pdec.cli", *args], cwd=ROOT, capture_output=True, text=True)

    ok = run("check", str(good))
    assert ok.returncode == 0, ok.stderr
    failed = run("check", str(bad))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr and "unknown name" in failed.stderr
    assert run("check").returncode == 2


def test_import_pdec_does_not_import_torch():
    code = "import sys, pdec; pdec.load; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_plan_prints_each_derivative_and_the_pass_count(capsys):
    from pdec.cli import main

    assert main(["plan", "examples/burgers.pde"]) == 0
    out = capsys.readouterr().out
    assert "u__x__x              from u__x" in out
    assert "total: 2 backward passes per evaluation" in out


@pytest.mark.parametrize("example", sorted(p.name for p in (Path(__file__).parents[1] / "examples").glob("*.pde")))
def test_plan_and_emit_work_on_every_example(example, tmp_path, capsys):
    from pdec.cli import main

    spec = Path(__file__).parents[1] / "examples" / example
    assert main(["plan", str(spec)]) == 0
    target = tmp_path / "residuals.py"
    assert main(["emit", str(spec), "-o", str(target)]) == 0
    source = target.read_text()
    assert "import torch" in source and "import pdec" not in source and "from pdec" not in source  # standalone
    assert str(spec.parent) not in source  # the spec is named by its file name only, wherever the checkout is
    compile(source, str(target), "exec")


# ---------------------------------------------------------------------------------------------------------------------
# The guard: every error a user can cause is `path: error: message` with exit 1, never a traceback
# ---------------------------------------------------------------------------------------------------------------------

TINY = GOOD + "exact: u = x*(1 - x)/2\ntrain:\n  layers = [4]\n  interior = 16\n  boundary = 2\n  lbfgs = 0\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A spec with an exact solution and a run directory trained for two steps."""
    folder = tmp_path_factory.mktemp("cli")
    spec = folder / "tiny.pde"
    spec.write_text(TINY)
    assert main(["run", str(spec), "--steps", "2", "--out", str(folder / "run"), "--quiet"]) == 0
    return spec, folder / "run"


def user_error(argv, capsys, fragment):
    """Run the command line; expect exit 1 and ``fragment`` on stderr, without a traceback."""
    assert main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err, err
    return err


def test_run_out_inside_a_file(tiny_run, tmp_path, capsys):
    spec, _ = tiny_run
    (tmp_path / "file").write_text("")
    err = user_error(["run", spec, "--steps", "1", "--out", tmp_path / "file" / "run"], capsys, ": error: ")
    assert err.startswith(str(tmp_path / "file"))


@pytest.mark.parametrize("command", ["emit", "sample"])
def test_output_into_a_missing_folder(command, tiny_run, tmp_path, capsys):
    spec, _ = tiny_run
    target = tmp_path / "missing" / "out.txt"
    user_error([command, spec, "-o", target], capsys, f"{target}: error: No such file or directory")


@pytest.mark.parametrize("points", ["missing.csv", "folder"])
def test_predict_unreadable_points(points, tiny_run, tmp_path, capsys):
    _, run = tiny_run
    (tmp_path / "folder").mkdir()
    user_error(["predict", run, tmp_path / points], capsys, "error: cannot read points")


def test_predict_foreign_checkpoint(tmp_path, capsys):
    import torch

    torch.save({}, tmp_path / "checkpoint.pt")
    user_error(["predict", tmp_path, tmp_path / "points.csv"], capsys, "not a pdec checkpoint")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "SPEC", "--threads", "-3"],
        ["run", "SPEC", "--threads", "0"],
        ["sample", "SPEC", "--noise", "nan", "-o", "x.csv"],
        ["sample", "SPEC", "--noise", "inf", "-o", "x.csv"],
        ["sample", "SPEC", "-n", "0", "-o", "x.csv"],
        ["sample", "SPEC", "--seed", "-1", "-o", "x.csv"],
    ],
)
def test_bad_numbers_on_the_command_line_are_usage_errors(argv, tiny_run, capsys):
    spec, _ = tiny_run
    assert main([str(spec) if a == "SPEC" else a for a in argv]) == 2
    assert "error: argument" in capsys.readouterr().err


def test_internal_error_shows_the_traceback_and_asks_for_a_report(good, monkeypatch, capsys):
    from pdec import cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(cli.COMMANDS, "plan", cli.Command("plan", cli._configure_compiled, broken))
    assert main(["plan", str(good)]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a bug" in err and "please report" in err


def test_run_out_not_writable(tiny_run, tmp_path, monkeypatch, capsys):
    spec, _ = tiny_run
    target = tmp_path / "locked" / "run"

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)  # as root, a read-only folder would still be writable
    user_error(["run", spec, "--steps", "1", "--out", target], capsys, f"{target}: error: Permission denied")


def test_check_does_not_import_torch():
    """`pdec check` needs the front end only: building every subcommand's parser must not load torch."""
    code = (
        "import sys; from pdec.cli import main; "
        f"status = main(['check', {str(ROOT / 'examples' / 'burgers.pde')!r}]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; "
        "assert 'scipy.stats' not in sys.modules and 'matplotlib' not in sys.modules, 'a heavy module was imported'; "
        "sys.exit(status)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "equations:" in done.stdout


def test_python_m_pdec_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "pdec", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("pdec ")


FREED = """
import resource, sys
import torch
from pdec.cli import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
for _ in range(2):  # 64 MB: over glibc's largest mmap threshold; the heap grows to hold it
    x = torch.ones(8_000_000, dtype=torch.float64)
    del x
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    x = torch.ones(8_000_000, dtype=torch.float64)
    del x
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_run_keeps_freed_memory_for_the_next_step():
    """`pdec run`'s allocator setting: a 64 MB block freed and allocated again five times costs page faults for fresh
    pages each time by default (about 16,000 a time); once the freed memory is kept, at most one of the five does (the
    heap may grow once more, by where the block falls)."""

    def faults(mode):
        done = subprocess.run([sys.executable, "-c", FREED, mode], capture_output=True, text=True, check=True)
        return int(done.stdout.split()[-1])

    default, kept = faults("default"), faults("keep")
    assert default > 5 * 10_000 and kept < default / 3
