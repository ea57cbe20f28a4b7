"""Property tests: whatever text reaches ``pdec.load``, ``pdec.compile`` and ``evaluate``, the only exception any
of them may raise is a PdecError, and no input takes more than a few seconds.

Two sources of input: arbitrary text (and bytes), and random mutations of the example specs (character insert,
delete and replace; token swaps, duplications and deletions), which stay close enough to valid specs to reach the
semantic checks and the compiler. Mutated examples are loaded through a file object named after the example, so their
data paths resolve. Bounded to a few hundred cases in all; ``benchmarks/fuzz.py`` runs the same harness
(tests/fuzz_inputs.py) on as many inputs as you like.
"""  # noqa: D205

from __future__ import annotations

import io
import random
import re
from datetime import timedelta
from pathlib import Path

from fuzz_inputs import HEADER, PIECES, exercise
from fuzz_inputs import mutated_example as mutated_example_rng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pdec
from pdec.core.errors import PdecError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.pde"))}
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+\.?\d*(?:[eE][+-]?\d+)?|\S")
ALPHABET = st.sampled_from(list("xtuyv019.+-*/^()[],:=_ \n#\"'edlnpi") + ["**", "u_x", "at", "on", "boundary",
                                                                         "ic", "bc", "eq", "var", "d(", "dn("])


def fuzz(n: int) -> settings:
    """Hypothesis settings for a bounded fuzz run of ``n`` cases."""
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def load_quietly(spec, name: str | None = None) -> None:
    """Load a spec; fail the test if anything but a PdecError escapes."""
    if name is not None:
        stream = io.StringIO(spec)
        stream.name = str(ROOT / "examples" / name)
        spec = stream
    try:
        pdec.load(spec)
    except PdecError as error:
        str(error)  # rendering must not fail either


@fuzz(80)
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    load_quietly(text if "\n" in text else text + "\n")


@fuzz(30)
@given(st.binary(max_size=100))
def test_arbitrary_bytes(data):
    load_quietly(io.BytesIO(data))


@fuzz(60)
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_spec_like_text(text):
    load_quietly("var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\n" + text)


@st.composite
def mutated_example(draw):
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    text = EXAMPLES[name]
    for _ in range(draw(st.integers(1, 3))):
        text = draw(st.sampled_from([_char_mutation, _token_mutation]))(draw, text)
    return name, text


def _char_mutation(draw, text: str) -> str:
    i = draw(st.integers(0, max(0, len(text) - 1)))
    kind = draw(st.sampled_from(["insert", "delete", "replace"]))
    char = draw(ALPHABET)
    if kind == "insert":
        return text[:i] + char + text[i:]
    if kind == "delete":
        return text[:i] + text[i + 1:]
    return text[:i] + char + text[i + 1:]


def _token_mutation(draw, text: str) -> str:
    tokens = list(TOKEN.finditer(text))
    if len(tokens) < 2:
        return text
    a, b = sorted(draw(st.lists(st.integers(0, len(tokens) - 1), min_size=2, max_size=2)))
    ta, tb = tokens[a], tokens[b]
    kind = draw(st.sampled_from(["swap", "delete", "duplicate", "copy"]))
    if kind == "swap" and a != b:
        return text[:ta.start()] + tb.group() + text[ta.end():tb.start()] + ta.group() + text[tb.end():]
    if kind == "delete":
        return text[:ta.start()] + text[ta.end():]
    if kind == "duplicate":
        return text[:ta.end()] + " " + ta.group() + text[ta.end():]
    return text[:ta.start()] + tb.group() + text[ta.end():]


@fuzz(200)
@given(mutated_example())
def test_mutated_examples(case):
    name, text = case
    load_quietly(text, name)


def test_unmutated_examples_load():
    for name, text in EXAMPLES.items():
        stream = io.StringIO(text)
        stream.name = str(ROOT / "examples" / name)
        assert pdec.load(stream).equations


# ---------------------------------------------------------------------------------------------------------------------
# Through the compiler: load, compile and evaluate on a tiny network (tests/fuzz_inputs.py)
# ---------------------------------------------------------------------------------------------------------------------


def fuzz_compile(n: int) -> settings:
    """Bounded settings with a deadline: no input may take more than 5 s through the compiler."""
    return settings(
        max_examples=n,
        deadline=timedelta(seconds=5),
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )


@fuzz_compile(50)
@given(st.integers(0, 2**32 - 1))
def test_mutated_examples_compile_and_evaluate(seed):
    text, name = mutated_example_rng(random.Random(seed))
    exercise(text, name)


@fuzz_compile(30)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_spec_like_text_compiles_and_evaluates(text):
    exercise(HEADER + "eq: u_t = u_xx\n" + text)


def test_every_example_compiles_and_evaluates():
    for name, text in EXAMPLES.items():
        assert exercise(text, name) == "evaluated", name
