"""Where every benchmark writes its markdown table: benchmarks/results/<stem>[_quick].md."""

import json
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(stem: str, text: str, quick: bool = False) -> Path:
    """Write ``text`` to ``results/<stem>.md`` (``<stem>_quick.md`` for a quick run) and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stem}{'_quick' if quick else ''}.md"
    path.write_text(text + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    """Every run a benchmark has logged in ``path`` (one JSON object a line; none when the file is missing)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def child_result(done: subprocess.CompletedProcess, base: dict) -> dict:
    """``base`` with the result a child run printed last (a line ``RESULT {json}``), or with its failure."""
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {**base, "failure": f"exit {done.returncode}: " + " | ".join(tail)}
    return {**base, **json.loads(lines[-1][len("RESULT ") :])}
