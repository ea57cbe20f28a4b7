"""Packaging: a wheel built from a copy of the checkout, installed in a fresh venv, checks an example.

The venv gets pdec from the wheel alone (``--no-deps``); its third-party dependencies are borrowed from the running
interpreter through a ``.pth`` file, which adds their folders without running the editable-install hooks there,
so the test proves the grammar and code ship inside the wheel.
"""

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRACKED = ("pyproject.toml", "README.md", "pdec", "grammar")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("checkout")
    for name in TRACKED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    (found,) = dist.glob("pdec-*.whl")
    return found


def test_wheel_ships_the_grammar(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "pdec/grammar/pdec.lark" in names
    assert "pdec/language/symbolic.py" in names and "pdec/train/trainer.py" in names


def test_installed_wheel_checks_an_example(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (purelib / "borrowed_deps.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(purelib), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)

    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed wheel, not a checkout
    where = subprocess.run(
        [python, "-c", "import pdec; print(pdec.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
    ).stdout.strip()
    assert Path(where).is_relative_to(purelib), where

    spec = tmp_path / "heat.pde"
    shutil.copy2(ROOT / "examples" / "heat.pde", spec)
    run = subprocess.run(
        [python, "-m", "pdec.cli", "check", str(spec)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=clean,
    )
    assert run.returncode == 0, run.stderr
    assert "heat: u_t = k*u_xx" in run.stdout
