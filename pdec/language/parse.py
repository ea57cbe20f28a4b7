"""Stage 1, text -> lark tree: parse a spec with grammar/pdec.lark and turn lark's errors into PdecSyntaxError."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pdec.core.errors import PdecSyntaxError, short
from pdec.core.source import Source, Span

KEYWORDS = frozenset(
    "var time field const let unknown positive in true lr eq ic bc at on boundary periodic data reference "
    "sample seed noise exact train stage for domain "
    "coef param".split()
)
STATEMENT_KEYWORDS = (
    "var",
    "time",
    "field",
    "const",
    "let",
    "unknown",
    "eq",
    "ic",
    "bc",
    "periodic",
    "data",
    "reference",
    "exact",
    "train",
    "stage",
    "coef",
    "domain",
    "param",
)
MAX_BRACKETS = 100
MAX_LINE_LENGTH = 10_000  # characters; specs are short, and lark needs ~30 us a token
MAX_SPEC_LENGTH = 200_000
_OPENING = {"LPAR", "LSQB"}
_CLOSING = {"RPAR", "RSQB"}
_NAMED = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted string ("...")',
    "_NL": "end of line",
    "$END": "end of input",
    "POW": "'^'",
}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "POW"}
_EXPRESSION_START = {"NAME", "NUMBER", "LPAR", "MINUS"}


def grammar_text() -> str:
    """Return the text of grammar/pdec.lark: the installed package's copy, else the checkout's (a source tree)."""
    try:
        return resources.files("pdec.grammar").joinpath("pdec.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
        return (Path(__file__).parents[2] / "grammar" / "pdec.lark").read_text(encoding="utf-8")


class _TooDeep(Exception):
    """Raised by the post-lexer at a bracket nested deeper than MAX_BRACKETS."""

    def __init__(self, token: lark.Token) -> None:
        super().__init__(token)
        self.token = token


class _JoinBracketedLines:
    """Lark post-lexer: drop newlines inside ( ) and [ ] so long expressions may span lines; limit the nesting."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[lark.Token]) -> Iterator[lark.Token]:
        """Yield the tokens of ``stream`` without the newlines nested in brackets."""
        depth = 0
        for token in stream:
            if token.type in _OPENING:
                depth += 1
                if depth > MAX_BRACKETS:
                    raise _TooDeep(token)
            elif token.type in _CLOSING:
                depth = max(0, depth - 1)
            elif token.type == "_NL" and depth:
                continue
            yield token


@functools.lru_cache(maxsize=1)
def parser() -> lark.Lark:
    """Return the (cached) LALR parser for pdec specs."""
    return lark.Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        postlex=_JoinBracketedLines(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=tables_cache(),
    )


def tables_cache() -> str | bool:
    """Where lark keeps the parser's tables between runs (building them takes 0.3 s of each ``pdec check``).

    The user's cache folder (``$XDG_CACHE_HOME/pdec``, else ``~/.cache/pdec``); lark stores the grammar's hash with
    the tables and rebuilds them when the grammar, the options or lark's version change. False (no cache) when the
    folder cannot be made, or when ``PDEC_PARSER_CACHE=0`` (lark keeps the tables as a pickle: docs/security.md).
    """
    if os.environ.get("PDEC_PARSER_CACHE") == "0":
        return False
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    folder = Path(base) / "pdec"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # RuntimeError: no home directory
        return False
    return str(folder / f"parser-lark{lark.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}.tables")


def parse(source: Source) -> lark.Tree:
    """Parse ``source`` into a lark tree; raise PdecSyntaxError saying what was expected, in words."""
    check_size(source)
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    try:
        return parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(source, error) from None
    except _TooDeep as error:
        span = Span(source, error.token.start_pos, error.token.start_pos + 1)
        raise PdecSyntaxError(
            f"brackets nested too deeply (more than {MAX_BRACKETS} levels)",
            span,
            "split the expression with `let` definitions",
        ) from None


def check_size(source: Source) -> None:
    """Reject absurdly long lines and specs before lexing them (they would take minutes to parse)."""
    starts = source.line_starts
    for number, start in enumerate(starts, 1):
        end = starts[number] - 1 if number < len(starts) else len(source.text)
        if end - start > MAX_LINE_LENGTH:
            raise PdecSyntaxError(
                f"line {number} is too long ({end - start} characters; at most {MAX_LINE_LENGTH})",
                Span(source, start + MAX_LINE_LENGTH, start + MAX_LINE_LENGTH + 1),
                "split long expressions with `let` definitions, or across lines inside ( )",
            )
    if len(source.text) > MAX_SPEC_LENGTH:
        raise PdecSyntaxError(
            f"the spec is too long ({len(source.text)} characters; at most {MAX_SPEC_LENGTH})",
            Span(source, MAX_SPEC_LENGTH, MAX_SPEC_LENGTH + 1),
        )


def _syntax_error(source: Source, error: UnexpectedInput) -> PdecSyntaxError:
    """Translate a lark error into a PdecSyntaxError with a span, the expected tokens in words and a hint."""
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream] if error.pos_in_stream < len(source.text) else ""
        span = source.span(error.pos_in_stream)
        expected = describe_expected(_acceptable(error, error.allowed or ()))
        message = f"unexpected character {char!r}" + (f"; expected {expected}" if expected else "")
        return PdecSyntaxError(message, span, _character_hint(char))
    token = getattr(error, "token", None)
    if isinstance(error, UnexpectedEOF) or token is None or token.type == "$END":
        expected = describe_expected(_acceptable(error, error.expected))
        return PdecSyntaxError(f"unexpected end of input; expected {expected}", source.end_span())
    if not isinstance(error, UnexpectedToken):
        return PdecSyntaxError(f"cannot parse the spec: {error}", source.span(getattr(error, "pos_in_stream", 0) or 0))
    start = token.start_pos if token.start_pos is not None else len(source.text)
    if start >= len(source.text.rstrip()):
        span = source.end_span()
    else:
        span = Span(source, start, max(start + 1, min(token.end_pos or start + 1, start + len(str(token)))))
    if token.type == "_NL":
        span = Span(source, start, start + 1)
    acceptable = _acceptable(error, error.expected)
    message = f"unexpected {describe_token(token)}; expected {describe_expected(acceptable)}"
    return PdecSyntaxError(message, span, _token_hint(token, acceptable, error))


def _acceptable(error: UnexpectedInput, fallback: Iterable[str]) -> set[str]:
    """The terminals the parser would really accept at the error (LALR's own list over-approximates)."""
    interactive = getattr(error, "interactive_parser", None)
    try:
        accepted = set(interactive.accepts()) if interactive is not None else set()
    except Exception:  # noqa: BLE001 - a best effort for the message; fall back to lark's list
        accepted = set()
    return accepted or set(fallback)


def describe_token(token: lark.Token) -> str:
    """Name a token in words: ``name 'foo'``, ``number 2``, ``'='``, ``end of line``."""
    if token.type in ("_NL", "$END"):
        return _NAMED[token.type]
    value = short(str(token))
    if token.type == "NAME":
        return f"name '{value}'"
    if token.type == "NUMBER":
        return f"number {value}"
    if token.type == "STRING":
        return f"string {value}"
    return f"'{value}'"


def describe_expected(names: Iterable[str]) -> str:
    """Say which terminals were expected, in words, grouping expression starts, operators and statements."""
    names = set(names)
    if len(names) > 1:  # an optional unit `[...]` may follow a number or a declaration: never what was missing
        names.discard("LSQB")
    phrases = []
    keywords = {n for n in names if _terminal_text(n) in STATEMENT_KEYWORDS}
    if len(keywords) > 4:
        phrases.append("a statement (" + ", ".join(STATEMENT_KEYWORDS[:9]) + ", ...)")
        names -= keywords | {"NAME"}
    if _EXPRESSION_START <= names:
        phrases.append("an expression")
        names -= _EXPRESSION_START | {"PLUS"}
    if _OPERATORS <= names:
        phrases.append("an operator")
        names -= _OPERATORS
    tail = [_NAMED[n] for n in ("_NL", "$END") if n in names]
    names -= {"_NL", "$END"}
    phrases += sorted(_terminal_words(n) for n in names)
    phrases += tail
    if not phrases:
        return "nothing more"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _terminal_words(name: str) -> str:
    """Name one terminal in words."""
    if name in _NAMED:
        return _NAMED[name]
    text = _terminal_text(name)
    return f"'{text}'" if text is not None else name.lower()


def _terminal_text(name: str) -> str | None:
    """Return the literal text of a string terminal, or None for a pattern terminal."""
    for terminal in parser().terminals:
        if terminal.name == name:
            pattern = terminal.pattern
            return pattern.value if isinstance(pattern, lark.lexer.PatternStr) else None
    return None


def _character_hint(char: str) -> str | None:
    """A hint for an unexpected character."""
    if char in "\"'":
        return "close the string on the same line"
    if char in "{}":
        return "group with ( ) and write intervals as [lo, hi]"
    if char == "=":
        return "compare with a single '='"
    if not char.isascii():
        return "names use ASCII letters, digits and '_'; write pi, not π"
    return None


def _token_hint(token: lark.Token, expected: set[str], error: UnexpectedToken) -> str | None:
    """A hint for an unexpected token, from the token and what was expected."""
    previous = getattr(error, "token_history", None) or ()
    before = previous[-1] if previous else None
    if expected == {"DOT", "EQUAL"}:
        return "a line starts with a keyword (var, field, eq, bc, ...) or is a `key = value` setting under train:"
    if token.type == "NAME" and str(token) in ("and", "or"):
        return "one location per condition: write two conditions, or use `on boundary(x)` for both ends of x"
    if token.type in ("NAME", "NUMBER", "LPAR") and "STAR" in expected:
        if before is not None and before.type in ("NUMBER", "NAME", "RPAR"):
            return f"multiplication needs '*': write {short(str(before))}*{short(str(token))}"
    if token.type == "EQUAL" and "EQUAL" not in expected and "_NL" in expected:
        return "a statement has one '='; write `lhs = rhs`"
    if token.type == "EQUAL" and expected >= _EXPRESSION_START:
        return "compare with a single '='"
    if "AMP" in expected and token.type in ("STAR", "SLASH", "POW"):
        return "combine domains with + or | (union), - (difference) and & (intersection)"
    return None
