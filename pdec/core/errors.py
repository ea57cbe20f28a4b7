"""The PdecError hierarchy: every error a user can cause, rendered with file:line:col, a caret and a hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pdec.core.source import Span

MAX_SHOWN_LINE = 200


class PdecError(Exception):
    """Root of every error a user can cause.

    Args:
        message: what broke, one sentence.
        span: where in the spec (None for errors with no source position).
        hint: what to do about it.
    """

    kind = "error"

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        return render(self.kind, self.message, self.span, self.hint)


class PdecSyntaxError(PdecError, SyntaxError):
    """The text does not follow the grammar."""

    def __str__(self) -> str:  # SyntaxError overrides __str__; restore ours.
        return render(self.kind, self.message, self.span, self.hint)


class PdecNameError(PdecError, NameError):
    """A name is unknown, duplicated or reserved."""


class PdecSemanticError(PdecError, ValueError):
    """The spec parses but does not make sense (arity, derivative variable, location, well-posedness)."""


class PdecUnitError(PdecSemanticError):
    """A unit pint does not know, or an expression whose terms have different physical dimensions."""


class PdecDataError(PdecError, ValueError):
    """A data file is missing, unreadable, or does not match its mapping."""


class PdecSettingsError(PdecError, ValueError):
    """An unknown training setting or a bad value for one."""


class PdecCompileError(PdecError, ValueError):
    """The symbolic problem cannot be lowered (an unsupported expression)."""


class PdecRunError(PdecError, RuntimeError):
    """A run cannot start or continue (bad run directory, device, checkpoint)."""


class PdecWarning(UserWarning):
    """A spec that may be valid but probably is not what was meant; carries a span like PdecError."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint

    def __str__(self) -> str:
        return render("warning", self.message, self.span, self.hint)


def render(kind: str, message: str, span: Span | None, hint: str | None) -> str:
    """Format a diagnostic as ``path:line:col: kind: message``, the source line, a caret line and a hint."""
    if span is None:
        lines = [f"{kind}: {message}"]
    else:
        line_no, col = span.source.position(span.start)
        lines = [f"{span.location()}: {kind}: {message}"]
        text = span.source.line(line_no)
        shown, offset = _window(text, col - 1)
        width = max(1, min(span.end - span.start, len(text) - (col - 1), MAX_SHOWN_LINE - offset))
        gutter = f"{line_no:>4} | "
        lines.append(gutter + shown)
        lines.append(" " * (len(gutter) - 2) + "| " + " " * offset + "^" * width)
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def _window(text: str, col0: int) -> tuple[str, int]:
    """Cut a long line to a window around column ``col0``; return the shown text and the caret offset in it."""
    text = text.replace("\t", " ")
    if len(text) <= MAX_SHOWN_LINE:
        return text, col0
    start = max(0, col0 - MAX_SHOWN_LINE // 2)
    shown = text[start : start + MAX_SHOWN_LINE]
    prefix = "..." if start else ""
    return prefix + shown + "...", col0 - start + len(prefix)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return a ``did you mean 'x'?`` hint for the closest candidate, or None."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def short(text: str, limit: int = 40) -> str:
    """``text`` on one line (runs of white space made one space), cut to ``limit`` characters for messages."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def number(value: float) -> str:
    """Format a float briefly, as a spec would write it: -1 for -1.0, 0.5, 3.141592653589793."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
