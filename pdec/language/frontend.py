"""The front end as one call: text, path or file -> Source -> lark tree -> Spec -> checked Problem."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from pdec.core.errors import PdecError
from pdec.core.source import Source
from pdec.language import parse, symbolic, syntax
from pdec.language.problem import Problem

SpecInput = str | os.PathLike | IO[str] | IO[bytes]
MAX_PATH_LENGTH = 4096
MAX_READ = 4 * parse.MAX_SPEC_LENGTH  # bytes read from a file at most (a UTF-8 character has up to 4 bytes)


def load(spec: SpecInput) -> Problem:
    """Read, parse and check a spec; return its Problem.

    Args:
        spec: spec text (``str`` or UTF-8 ``bytes``); a path (``str`` or ``Path``) to a spec file: a ``str``
            ending in ``.pde`` or naming an existing file is taken as a path; or an open text or binary file.

    Raises:
        PdecError: for anything wrong with the spec, including unreadable, empty or non-UTF-8 input.
    """
    return check(parse_spec(read(spec)))


def read(spec: SpecInput) -> Source:
    """Return the Source of a spec given as text, a path or an open file."""
    if isinstance(spec, os.PathLike) or (isinstance(spec, str) and _looks_like_path(spec)):
        return _read_path(Path(spec))
    if isinstance(spec, str):
        return _source(spec, "<string>")
    if isinstance(spec, (bytes, bytearray)):
        return _source(bytes(spec), "<bytes>")
    if hasattr(spec, "read"):
        name = getattr(spec, "name", None)
        path = name if isinstance(name, str) else "<file>"
        try:
            content = spec.read(MAX_READ + 1)  # bounded: /dev/zero or a pipe that never ends
        except UnicodeDecodeError as error:
            raise _not_utf8(path, error) from None
        except OSError as error:
            raise PdecError(f"cannot read {path}: {error.strerror or error}") from None
        return _source(_bounded(content, path), path)
    raise PdecError(f"cannot read a spec from a {type(spec).__name__}", hint="pass spec text, a path or an open file")


def parse_spec(source: Source) -> syntax.Spec:
    """Parse a Source into its syntax tree (no names checked)."""
    return syntax.build(parse.parse(source), source)


def check(spec: syntax.Spec) -> Problem:
    """Check a parsed spec and return its Problem."""
    return symbolic.check(spec)


def _looks_like_path(text: str) -> bool:
    """A str is a path if it ends in .pde or names an existing file (and is a plausible path at all)."""
    if "\n" in text or "\0" in text or not text.strip() or len(text) > MAX_PATH_LENGTH:
        return False
    if text.strip().endswith(".pde"):
        return True
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read_path(path: Path) -> Source:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_READ + 1)  # bounded: /dev/zero or a pipe that never ends
    except FileNotFoundError:
        raise PdecError(
            f"no such file: {path}", hint="check the path (relative paths start at the current folder)"
        ) from None
    except IsADirectoryError:
        raise PdecError(f"{path} is a folder, not a spec file") from None
    except (OSError, ValueError) as error:
        raise PdecError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    return _source(_bounded(data, str(path)), str(path))


def _bounded(content: str | bytes, path: str) -> str | bytes:
    """Refuse what a bounded read cut short: a file larger than any spec (or endless)."""
    if len(content) > MAX_READ:
        raise PdecError(
            f"{path} is too large for a spec (more than {MAX_READ} bytes)",
            hint=f"a spec has at most {parse.MAX_SPEC_LENGTH} characters",
        )
    return content


def _source(content: str | bytes, path: str) -> Source:
    """Decode (UTF-8, optional BOM) and wrap the content; reject empty specs."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise _not_utf8(path, error) from None
    if not isinstance(content, str):
        raise PdecError(f"cannot read a spec from {path}: got {type(content).__name__}")
    content = content.removeprefix("\ufeff")
    if not content.strip():
        raise PdecError(f"{path} is empty", hint="a spec needs at least a `var` line and an `eq` line")
    return Source(content, path)


def _not_utf8(path: str, error: UnicodeDecodeError) -> PdecError:
    return PdecError(
        f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})",
        hint="save the spec as UTF-8",
    )
