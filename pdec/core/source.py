"""Source text and spans: where every piece of a spec came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """The text of one spec, with the path it was read from (``"<string>"`` for text)."""

    text: str
    path: str = "<string>"
    line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                starts.append(i + 1)
        object.__setattr__(self, "line_starts", tuple(starts))

    @property
    def directory(self) -> Path:
        """The folder relative data paths are resolved against."""
        if self.path.startswith("<"):
            return Path.cwd()
        return Path(self.path).resolve().parent

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based (line, column) of a character offset."""
        from bisect import bisect_right

        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def line(self, number: int) -> str:
        """Return the text of a 1-based line, without its newline."""
        if not 1 <= number <= len(self.line_starts):
            return ""
        start = self.line_starts[number - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def span(self, start: int, end: int | None = None) -> Span:
        """Return the span from ``start`` to ``end`` (character offsets) in this source."""
        return Span(self, start, start + 1 if end is None else end)

    def end_span(self) -> Span:
        """Return an empty span at the end of the text (for end-of-input errors)."""
        n = len(self.text.rstrip())
        return Span(self, n, n)


@dataclass(frozen=True)
class Span:
    """A half-open range of characters ``[start, end)`` in a source."""

    source: Source = field(repr=False, compare=False)
    start: int
    end: int

    @property
    def line(self) -> int:
        """1-based line of the first character."""
        return self.source.position(self.start)[0]

    @property
    def column(self) -> int:
        """1-based column of the first character."""
        return self.source.position(self.start)[1]

    @property
    def text(self) -> str:
        """The spanned text."""
        return self.source.text[self.start : self.end]

    def location(self) -> str:
        """Return ``path:line:col``."""
        line, col = self.source.position(self.start)
        return f"{self.source.path}:{line}:{col}"

    def __or__(self, other: Span) -> Span:
        """Return the smallest span covering both."""
        return Span(self.source, min(self.start, other.start), max(self.end, other.end))
