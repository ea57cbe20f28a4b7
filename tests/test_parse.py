"""Stage 1-2 tests: text -> lark tree -> Spec, the syntax errors in words, and the unparse -> parse round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdec.core.errors import PdecSyntaxError
from pdec.core.source import Source
from pdec.language import syntax as ast
from pdec.language.frontend import parse_spec
from pdec.language.parse import describe_expected, grammar_text, parse

ROOT = Path(__file__).resolve().parents[1]


def spec(text: str) -> ast.Spec:
    return parse_spec(Source(text))


def stmt(text: str):
    (statement,) = spec(text).statements
    return statement


def expr(text: str) -> ast.Expr:
    return stmt(f"eq: {text} = 0").lhs


N, X = ast.Number, ast.Name


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", N("1")),
        ("2.5E+4", N("2.5E+4")),
        (".5", N(".5")),
        ("u_xx", X("u_xx")),
        ("-x", ast.Neg(X("x"))),
        ("+x", ast.Neg(X("x"), "+")),
        ("a + b - c", ast.Sum(X("a"), (("+", X("b")), ("-", X("c"))))),
        ("a*b/c", ast.Product(X("a"), (("*", X("b")), ("/", X("c"))))),
        ("a + b*c", ast.Sum(X("a"), (("+", ast.Product(X("b"), (("*", X("c")),))),))),
        ("-x^2", ast.Neg(ast.Power(X("x"), N("2")))),
        ("x**2", ast.Power(X("x"), N("2"))),
        ("x^2^3", ast.Power(X("x"), ast.Power(N("2"), N("3")))),
        ("2^-1", ast.Power(N("2"), ast.Neg(N("1")))),
        ("(a + b)*c", ast.Product(ast.Sum(X("a"), (("+", X("b")),)), (("*", X("c")),))),
        ("d(u, x, 2, t)", ast.Call("d", (X("u"), X("x"), N("2"), X("t")))),
        ("sin(pi*x)", ast.Call("sin", (ast.Product(X("pi"), (("*", X("x")),)),))),
        ("f()", ast.Call("f", ())),
    ],
)
def test_expressions(text, expected):
    assert expr(text) == expected


def test_statements():
    assert stmt("var x in [-1, 1]") == ast.VarDecl(ast.Ident("x"), ast.Neg(N("1")), N("1"), False)
    assert stmt("time t in [0, T]") == ast.VarDecl(ast.Ident("t"), N("0"), X("T"), True)
    fields = spec("field u(x, t), v, w()").statements
    assert fields == (ast.FieldDecl(ast.Ident("u"), (ast.Ident("x"), ast.Ident("t"))),
                      ast.FieldDecl(ast.Ident("v"), None), ast.FieldDecl(ast.Ident("w"), ()))
    unknown = stmt("unknown k = 1 in [0, 10] true 2 lr 1e-2 positive")
    assert [m.kind for m in unknown.modifiers] == ["in", "true", "lr", "positive"]
    cond = stmt("bc left: u + 2*dn(u) = 1 at x = 1")
    assert cond.kind == "bc" and cond.name == ast.Ident("left") and cond.location == ast.At(ast.Ident("x"), N("1"))
    assert stmt("bc: u = 0 on boundary").location == ast.OnBoundary(None)
    assert stmt("bc: u = 0 on boundary(x, y)").location == ast.OnBoundary((ast.Ident("x"), ast.Ident("y")))
    edges = stmt("bc: u = 0 on boundary(hull:3, hole, tri : 12)").location  # a polygon's edges, as pdec check labels
    assert edges == ast.OnBoundary((ast.Ident("hull:3"), ast.Ident("hole"), ast.Ident("tri:12")))
    assert [i.span.text for i in edges.variables] == ["hull:3", "hole", "tri : 12"]
    assert stmt("ic: u = 0").location is None
    periodic = stmt("periodic: u, u_x in x")
    assert periodic.exprs == (X("u"), X("u_x")) and periodic.variable == ast.Ident("x")
    data = stmt('data obs: "d/f.csv" x = 0, t = "time", u = usol sample 20 seed 1 noise 0.01')
    assert data.path == "d/f.csv" and [m.column for m in data.mappings] == [0, "time", "usol"]
    assert [(o.key, o.value.text) for o in data.options] == [("sample", "20"), ("seed", "1"), ("noise", "0.01")]
    assert stmt("reference: 'r.npz' x = x, u = u").is_reference
    exact = stmt("exact: u = sin(x), v = 2")
    assert [i.name.name for i in exact.items] == ["u", "v"]


def test_train_block_groups_settings_and_stages():
    train = stmt("train:\n  layers = [20, 20]\n  lr = 1e-3\n  seed = 3\n  boundary = 4\n  compile = false\n"
                 "  device = cuda:1\n  points.left = 10\n  weight.left = -1\n  sampler = \"lhs\"\n"
                 "  stage: a, b for 100\n")
    assert [(s.key, s.value) for s in train.settings] == [
        ("layers", [20, 20]), ("lr", 1e-3), ("seed", 3), ("boundary", 4), ("compile", False),
        ("device", "cuda:1"), ("points.left", 10), ("weight.left", -1), ("sampler", "lhs")]
    assert [(tuple(i.name for i in s.terms), s.steps.text) for s in train.stages] == [(("a", "b"), "100")]


def test_layout_comments_continuations_and_line_endings():
    text = "# heading\r\nvar x in [0, 1]  # trailing\r\n\r\nfield u\neq: u_xx = (1 +\n   2)\nbc: u = \\\n 0 at x = 0"
    statements = spec(text).statements
    assert [type(s).__name__ for s in statements] == ["VarDecl", "FieldDecl", "EquationStmt", "ConditionStmt"]
    assert statements[2].rhs == ast.Sum(N("1"), (("+", N("2")),))


def test_spans_point_at_the_text():
    s = spec("var x in [0, 1]\neq flow: u_t = 2*nu\n")
    eq = s.statements[1]
    assert eq.span.text == "eq flow: u_t = 2*nu"
    assert eq.name.span.text == "flow"
    assert eq.rhs.span.text == "2*nu" and eq.rhs.rest[0][1].span.text == "nu"
    assert (eq.rhs.span.line, eq.rhs.span.column) == (2, 16)


@pytest.mark.parametrize(
    "text, message, caret",
    [
        ("eq: u = 2x\n", "unexpected name 'x'; expected an operator or end of line", (1, 10)),
        ("var x in [0, 1", "unexpected end of input; expected an operator or ']'", (1, 15)),
        ("var x\n", "unexpected end of line; expected 'in'", (1, 6)),
        ("eq: u = \n", "unexpected end of line; expected an expression", (1, 9)),
        ("field u(x,, t)\n", "unexpected ','; expected a name", (1, 11)),
        ("bc: u = 0 at\n", "unexpected end of line; expected a name", (1, 13)),
        ("vars x in [0, 1]\n", "unexpected name 'x'; expected '.' or '='", (1, 6)),
        ("eq: u = 1 $\n", "unexpected character '$'", (1, 11)),
        ("= 1\n", "unexpected '='; expected a statement", (1, 1)),
    ],
)
def test_syntax_errors_in_words(text, message, caret):
    with pytest.raises(PdecSyntaxError) as info:
        spec(text)
    error = info.value
    assert message in error.message
    assert (error.span.line, error.span.column) == caret


def test_describe_expected_groups_terminals():
    assert describe_expected({"NAME", "NUMBER", "LPAR", "MINUS", "PLUS"}) == "an expression"
    assert describe_expected({"PLUS", "MINUS", "STAR", "SLASH", "POW", "_NL"}) == "an operator or end of line"
    assert describe_expected({"COMMA", "RPAR"}) == "')' or ','"


def test_setting_outside_train_block():
    with pytest.raises(PdecSyntaxError, match="training setting outside a train block"):
        spec("var x in [0, 1]\nlr = 1\n")
    with pytest.raises(PdecSyntaxError, match="stage outside a train block"):
        spec("stage: a for 1\n")


def test_grammar_is_the_shipped_file():
    assert grammar_text() == (ROOT / "grammar" / "pdec.lark").read_text(encoding="utf-8")
    assert parse(Source("var x in [0, 1]\n")).data == "start"


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.pde")), ids=lambda p: p.stem)
def test_examples_round_trip_through_unparse(path):
    original = spec(path.read_text(encoding="utf-8"))
    printed = ast.unparse(original)
    assert spec(printed) == original
    assert ast.unparse(spec(printed)) == printed


# ---- random expressions: unparse then parse gives the same tree

names = st.sampled_from(["x", "t", "u", "u_xx", "nu", "pi", "e"]).map(ast.Name)
numbers = st.sampled_from(["0", "1", "2.5", "1e-3", "3E+2", ".5"]).map(ast.Number)


def _extend(children):
    pairs = st.lists(st.tuples(st.sampled_from("+-"), children), min_size=1, max_size=3).map(tuple)
    factors = st.lists(st.tuples(st.sampled_from("*/"), children), min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Sum, children, pairs),
        st.builds(ast.Product, children, factors),
        st.builds(ast.Neg, children, st.sampled_from("-+")),
        st.builds(ast.Power, children, children),
        st.builds(ast.Call, st.sampled_from(["sin", "d", "lap", "u"]),
                  st.lists(children, min_size=1, max_size=3).map(tuple)),
    )


expressions = st.recursive(st.one_of(names, numbers), _extend, max_leaves=12)


@settings(max_examples=100, deadline=None, database=None)
@given(expressions)
def test_random_expressions_round_trip(tree):
    text = ast.unparse(tree)
    assert expr(text) == tree, text


def _doc_blocks():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    return [block.split("\n", 1)[1] for block in text.split("```")[1::2] if block.startswith("pde\n")]


@pytest.mark.parametrize("block", _doc_blocks())
def test_language_reference_examples_parse(block):
    assert spec(block).statements


def test_language_reference_has_examples():
    assert len(_doc_blocks()) >= 10


def test_first_reference_example_checks():
    import pdec

    problem = pdec.load(_doc_blocks()[0])
    assert problem.term_names() == ("pde:burgers", "ic:initial", "bc:walls")


def _node_types(node, seen):
    import dataclasses

    if dataclasses.is_dataclass(node):
        seen.add(type(node))
        for f in dataclasses.fields(node):
            if f.name != "source":
                _node_types(getattr(node, f.name), seen)
    elif isinstance(node, (tuple, list)):
        for item in node:
            _node_types(item, seen)
    return seen


def test_every_syntax_node_is_exercised_by_the_docs_and_examples():
    import dataclasses
    import inspect

    seen: set[type] = set()
    for block in _doc_blocks():
        _node_types(spec(block), seen)
    for path in (ROOT / "examples").glob("*.pde"):
        _node_types(spec(path.read_text(encoding="utf-8")), seen)
    nodes = {c for _, c in inspect.getmembers(ast, inspect.isclass)
             if dataclasses.is_dataclass(c) and c.__module__ == ast.__name__}
    assert nodes - seen == set()


def test_the_parser_tables_are_cached_in_the_users_cache_folder(tmp_path, monkeypatch):
    """Building the LALR tables takes 0.3 s of each `pdec check`: lark keeps them between runs, keyed by the grammar."""
    from pdec.language import parse as parse_module

    text = (ROOT / "examples" / "burgers.pde").read_text(encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = Path(parse_module.tables_cache())
    assert cache.parent == tmp_path / "pdec" and not cache.exists()
    parse_module.parser.cache_clear()
    try:
        built = parse(Source(text))
        assert cache.is_file()
        parse_module.parser.cache_clear()
        loaded = parse(Source(text))
        assert loaded == built
        cache.write_bytes(b"not lark's tables\n")  # a damaged cache: rebuilt, not trusted
        parse_module.parser.cache_clear()
        assert parse(Source(text)) == built
    finally:
        parse_module.parser.cache_clear()


def test_no_cache_where_the_folder_cannot_be_made(monkeypatch):
    from pdec.language import parse as parse_module

    monkeypatch.setenv("XDG_CACHE_HOME", "/dev/null/cache")
    assert parse_module.tables_cache() is False


def test_the_parser_cache_can_be_switched_off(tmp_path, monkeypatch):
    """PDEC_PARSER_CACHE=0: no pickle is read or written (docs/security.md)."""
    from pdec.language import parse as parse_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("PDEC_PARSER_CACHE", "0")
    assert parse_module.tables_cache() is False
    monkeypatch.setenv("PDEC_PARSER_CACHE", "1")
    assert str(parse_module.tables_cache()).startswith(str(tmp_path))
