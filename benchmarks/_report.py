"""Where every benchmark writes its markdown table: benchmarks/results/<stem>[_quick].md."""

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(stem: str, text: str, quick: bool = False) -> Path:
    """Write ``text`` to ``results/<stem>.md`` (``<stem>_quick.md`` for a quick run) and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stem}{'_quick' if quick else ''}.md"
    path.write_text(text + "\n")
    return path
