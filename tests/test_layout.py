"""The package's layout: imports follow the pipeline (no cycles, never from an earlier stage to a later one)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pdec"

# Every module of pdec, in pipeline order: a module may import only the modules listed before it.
ORDER = (
    # foundation
    "source",
    "errors",
    "registry",
    "settings",
    "geometry",
    # front end: text -> Problem
    "parse",
    "syntax",
    "vocabulary",
    "display",
    "problem",
    "finiteness",
    "corners",
    "scope",
    "data",
    "coefficients",
    "expressions",
    "declarations",
    "domains",
    "symbolic",
    "frontend",
    # compiler: Problem -> CompiledProblem
    "derivatives",
    "lower",
    "forward",
    "interpolation",
    "terms",
    "unknowns",
    "codegen",
    "constraints",
    "compiler",
    # trainer: CompiledProblem -> Result
    "sampling",
    "embeddings",
    "nets",
    "windows",
    "balance",
    "causal",
    "diagnostics",
    "jacobian",
    "intervals",
    "optimizers",
    "console",
    "distributed",
    "adaptive",
    "results",
    "schedule",
    "checkpoint",
    "metrics",
    "inverse",
    "train",
    "marching",
    # the API, then the command line on top of it
    "__init__",
    "cli",
    "__main__",
)


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path) -> set[str]:
    """The pdec modules a file imports at run time (anywhere in it; ``if TYPE_CHECKING:`` blocks excluded)."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "pdec":
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from pdec import x: a submodule, or the package's __init__
                found.update(a.name if a.name in modules else "__init__" for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "pdec":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found - {path.stem}


def graph() -> dict[str, set[str]]:
    return {p.stem: imports(p) for p in sorted(PACKAGE.glob("*.py"))}


def test_every_module_has_a_place_in_the_pipeline():
    assert set(graph()) == set(ORDER)


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*path, module, target])
            if target not in state:
                walk(target, [*path, module])
        state[module] = 2

    for module in edges:
        if module not in state:
            walk(module, [])


def test_imports_follow_the_pipeline():
    rank = {m: i for i, m in enumerate(ORDER)}
    upward = [f"{m} imports {t}" for m, targets in graph().items() for t in targets if rank[t] > rank[m]]
    assert not upward, upward


MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 250


def test_functions_and_classes_stay_small():
    """No function over 60 lines and no class over 250 in pdec/ (docstrings and decorators included)."""
    too_long = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                size = node.end_lineno - first + 1
                limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
                if size > limit:
                    too_long.append(f"{path.name}:{node.lineno} {node.name} ({size} lines, at most {limit})")
    assert not too_long, too_long
