"""The documentation site: ``mkdocs build --strict`` from mkdocs.yml (docs/ and the API reference from docstrings).

Strict mode turns every warning into a failure: a link to a page or anchor that does not exist, a link out of docs/,
a page missing from the nav, a docstring griffe cannot parse. The second group of tests builds a tiny site with the
repository's own validation settings and one broken link each, to prove such a link fails the build.
"""

import subprocess
import sys
from pathlib import Path

import pytest

mkdocs = pytest.importorskip("mkdocs")
yaml = pytest.importorskip("yaml")  # PyYAML, an mkdocs dependency

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "mkdocs.yml"


def build(config: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocstrings")
    done = build(CONFIG, tmp_path / "site", cwd=tmp_path)  # not from the root: the config finds pdec/ on its own
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("pdec.load", "pdec.compile", "pdec.fit", "pdec.Problem", "pdec.Result", "CompiledProblem"):
        assert name in api, name


def test_the_config_is_strict_and_every_page_is_in_the_nav():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert config["strict"] is True
    assert all(level == "warn" for level in config["validation"].values())

    def pages(nav):
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from pages(value) if isinstance(value, list) else [value]

    listed = set(pages(config["nav"]))
    assert listed == {p.name for p in (ROOT / "docs").glob("*.md")}


BROKEN = {
    "missing page": "[there](missing.md)",
    "missing anchor": "[there](other.md#no-such-section)",
    "missing anchor on the page": "[here](#no-such-section)",
    "link out of docs": "[readme](../README.md)",
    "absolute link": "[root](/index.md)",
}


def tiny_site(tmp_path: Path, link: str) -> subprocess.CompletedProcess:
    """Build two pages with the repository's strict and validation settings, the first holding ``link``."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# Home\n\nSee [other](other.md#a-section) {link}.\n", encoding="utf-8")
    (docs / "other.md").write_text("# Other\n\n## A section\n\nText.\n", encoding="utf-8")
    tiny = {
        "site_name": "tiny",
        "docs_dir": "docs",
        "strict": config["strict"],
        "validation": config["validation"],
        "nav": ["index.md", "other.md"],
        "markdown_extensions": config.get("markdown_extensions", []),
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(tiny), encoding="utf-8")
    return build(tmp_path / "mkdocs.yml", tmp_path / "site", cwd=tmp_path)


@pytest.mark.parametrize("link", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_link_fails_the_build(tmp_path, link):
    done = tiny_site(tmp_path, f"and {link}")
    assert done.returncode != 0, done.stdout + done.stderr
    assert "index.md" in done.stderr and "link" in done.stderr, done.stderr


def test_the_tiny_site_builds_without_the_broken_link(tmp_path):
    """The control: the same site with only its good link builds, so the failures above are the broken links'."""
    done = tiny_site(tmp_path, "")
    assert done.returncode == 0, done.stdout + done.stderr
