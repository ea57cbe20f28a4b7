"""Fuzz inputs and the harness shared by tests/test_fuzz.py (hypothesis, bounded) and benchmarks/fuzz.py (long runs).

``exercise(text, name)`` takes a spec through every stage a user's file reaches without training: ``pdec.load``, then
``pdec.compile`` and ``evaluate`` on a tiny network at a few points of every point set. A PdecError at any stage is
the expected outcome for a bad spec; anything else escaping is a bug. ``random_input(rng)`` draws one input:
mostly mutated example specs (character and token edits that stay close enough to valid specs to reach the
compiler), spec-like token soup after a valid header, or arbitrary text.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import torch

import pdec
from pdec.core.errors import PdecError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.pde"))}
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*(?:[eE][+-]?\d+)?|\S")
PIECES = [*"xtuyv019.+-*/^()[],:=_ \n#\"'edlnpi", "**", "u_x", "at", "on", "boundary", "ic", "bc", "eq", "var", "d(",
          "dn(", "lap(", "periodic", "1e400", "1e19", "sin(", "log(", "let", "const", "u_xxxx", "train:\n"]  # fmt: skip
HEADER = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\n"
POINTS = 3  # per point set


def char_mutation(rng: random.Random, text: str) -> str:
    """Insert, delete or replace one character (or a spec-like piece)."""
    i = rng.randrange(max(1, len(text)))
    kind = rng.choice(("insert", "delete", "replace"))
    piece = rng.choice(PIECES)
    if kind == "insert":
        return text[:i] + piece + text[i:]
    if kind == "delete":
        return text[:i] + text[i + 1 :]
    return text[:i] + piece + text[i + 1 :]


def token_mutation(rng: random.Random, text: str) -> str:
    """Swap, delete, duplicate or copy over a token."""
    tokens = list(TOKEN.finditer(text))
    if len(tokens) < 2:
        return text
    a, b = sorted(rng.randrange(len(tokens)) for _ in range(2))
    ta, tb = tokens[a], tokens[b]
    kind = rng.choice(("swap", "delete", "duplicate", "copy"))
    if kind == "swap" and a != b:
        return text[: ta.start()] + tb.group() + text[ta.end() : tb.start()] + ta.group() + text[tb.end() :]
    if kind == "delete":
        return text[: ta.start()] + text[ta.end() :]
    if kind == "duplicate":
        return text[: ta.end()] + " " + ta.group() + text[ta.end() :]
    return text[: ta.start()] + tb.group() + text[ta.end() :]


def mutated_example(rng: random.Random) -> tuple[str, str]:
    """An example spec with one to three mutations, and its file name (its data paths resolve next to it)."""
    name = rng.choice(sorted(EXAMPLES))
    text = EXAMPLES[name]
    for _ in range(rng.randint(1, 3)):
        text = rng.choice((char_mutation, token_mutation))(rng, text)
    return text, name


def random_input(rng: random.Random) -> tuple[str, str | None]:
    """One fuzz input: ``(text, example name or None)``."""
    roll = rng.random()
    if roll < 0.75:
        return mutated_example(rng)
    if roll < 0.95:
        return HEADER + "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))), None
    return "".join(chr(rng.randrange(1, 0x250)) for _ in range(rng.randint(0, 80))) + "\n", None


def exercise(text: str, name: str | None = None) -> str:
    """Load, compile and evaluate a spec; return the last stage reached (PdecErrors are an expected outcome).

    Returns ``"rejected"`` (a PdecError), ``"loaded"`` or ``"evaluated"``; any other exception propagates.
    """
    stream = io.StringIO(text)
    stream.name = str(ROOT / "examples" / (name or "fuzz.pde"))
    try:
        problem = pdec.load(stream)
    except PdecError as error:
        str(error)  # rendering must not fail either
        return "rejected"
    try:
        compiled = pdec.compile(problem, compile=False, layers=[4])
    except PdecError as error:
        str(error)
        return "loaded"
    evaluate(compiled)
    return "evaluated"


def evaluate(compiled) -> None:
    """Evaluate every term on a tiny network at a few points of each point set; check the residuals' shapes."""
    generator = torch.Generator().manual_seed(0)
    d, m = len(compiled.variables), len(compiled.fields)
    net = torch.nn.Sequential(torch.nn.Linear(d, 4), torch.nn.Tanh(), torch.nn.Linear(4, m)).to(compiled.dtype)
    lo = torch.tensor([compiled.bounds[v][0] for v in compiled.variables], dtype=compiled.dtype)
    hi = torch.tensor([compiled.bounds[v][1] for v in compiled.variables], dtype=compiled.dtype)
    points = {}
    for name, ps in compiled.point_sets.items():
        if ps.data is not None:
            points[name] = ps.data.points[:POINTS]
            continue
        x = lo + (hi - lo) * torch.rand(POINTS, d, generator=generator, dtype=compiled.dtype)
        for var, value in ps.region.items():
            x[:, compiled.variables.index(var)] = value
        points[name] = x
    targets = {k: ps.data.targets[:POINTS] for k, ps in compiled.point_sets.items() if ps.data is not None}
    residuals = compiled.evaluate(net, points, targets)
    for term, r in residuals.items():
        rows = sum(len(points[p]) for p in compiled.terms[term].point_sets)
        assert r.shape == (rows, compiled.terms[term].columns), (term, tuple(r.shape), rows)
