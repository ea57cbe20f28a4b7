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
