"""The package's layout: stages in folders, imports follow the pipeline (no cycles, never to a later stage).

An import is anything that loads a pdec module at run time: ``import`` and ``from ... import`` statements anywhere in
a file (inside functions too; ``if TYPE_CHECKING:`` blocks excluded) and ``importlib.import_module`` / ``__import__``
calls. A call whose module is a literal counts as an import of that module; a call whose module is computed is a
hidden import and fails the layout unless it is one of the lookups listed in ``LOOKUPS`` (the registries', whose
entries are checked one by one in ``test_registry_entries_load_from_the_stages_listed``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pdec"

# The stages in pipeline order, each with its modules in order: a module may import the modules of an earlier stage
# and those listed before it in its own. ``__init__`` is the stage's package (a folder's ``__init__.py``).
STAGES = (
    ("core", ("source", "errors", "intervals", "registry", "settings", "__init__")),
    ("geometry", ("shapes", "csg", "domain", "distances", "__init__")),
    (
        "language",
        (
            "parse",
            "syntax",
            "units",
            "vocabulary",
            "problem",
            "display",
            "finiteness",
            "corners",
            "scope",
            "data",
            "expressions",
            "library",
            "dimensions",
            "coefficients",
            "declarations",
            "domains",
            "parameters",
            "symbolic",
            "scaling",
            "frontend",
            "__init__",
        ),
    ),
    (
        "compiler",
        (
            "derivatives",
            "lower",
            "activations",
            "runtime",
            "forward",
            "interpolation",
            "learned",
            "terms",
            "unknowns",
            "codegen",
            "constraints",
            "driver",
            "__init__",
        ),
    ),
    ("nn", ("embeddings", "networks", "windows", "__init__")),
    (
        "run",
        (
            "intervals", "discovered", "functions", "history", "parametric", "scales", "results", "vtu", "tensorboard",
            "__init__",
        ),
    ),
    (
        "train",
        (
            "sampling",
            "balance",
            "causal",
            "diagnostics",
            "jacobian",
            "optimizers",
            "console",
            "distributed",
            "adaptive",
            "schedule",
            "best",
            "state",
            "checkpoint",
            "metrics",
            "inverse",
            "trainer",
            "marching",
            "discovery",
            "__init__",
        ),
    ),
    # on top: fit (the trainer and time marching), the API, the command line
    ("", ("fit", "__init__", "cli", "__main__")),
)

# The computed imports allowed, by module and function: the registries import an entry's implementation when a run
# names it (pdec.core.registry: each entry is "module:attribute"). Nothing else may compute a module's name.
LOOKUPS = {"core.registry": {"Registry.load"}}

# Where each registry's entries may live (checked entry by entry): later stages, looked up by name, not imported.
REGISTRY_MODULES = {
    "weighting": {"pdec.train.balance"},
    "sampler": {"pdec.train.sampling", "pdec.train.adaptive"},
    "activation": {"pdec.compiler.activations"},
    "network": {"pdec.nn.networks"},
    "optimizer": {"pdec.train.optimizers"},
}

IMPORTERS = {"import_module", "__import__"}


def ordered(stages=STAGES) -> tuple[str, ...]:
    """Every module's name relative to the package (``language.parse``, ``geometry`` for its ``__init__``), in order."""
    out = []
    for stage, modules in stages:
        for m in modules:
            out.append(stage if m == "__init__" and stage else ".".join(p for p in (stage, m) if p))
    return tuple(out)


def stage_of(name: str) -> str:
    """The stage a module belongs to ("" for the top level)."""
    first = name.split(".")[0]
    return first if any(first == s for s, _ in STAGES if s) else ""


def module_names(root: Path) -> dict[str, Path]:
    """``{relative dotted name: path}`` of every module under ``root`` (a folder's ``__init__`` named by the folder)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _target(dotted: str, package: str, known: set[str]) -> str | None:
    """The known module a dotted import path loads (its longest known prefix), or None outside the package."""
    parts = dotted.split(".")
    if parts[0] != package:
        return None
    rest = parts[1:]
    for n in range(len(rest), 0, -1):
        if ".".join(rest[:n]) in known:
            return ".".join(rest[:n])
    return "__init__"


def _scopes(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """Every node with the qualified name of the function or class around it ("" at module level)."""

    def walk(node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str]]:
        if _type_checking(node):
            return
        yield node, scope
        inner = scope
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            inner = f"{scope}.{node.name}" if scope else node.name
        for child in ast.iter_child_nodes(node):
            yield from walk(child, inner)

    yield from walk(tree, "")


def _importers(tree: ast.AST) -> set[str]:
    """The names a file calls to import a module by name: ``import_module``, ``__import__`` and their aliases."""
    names = set(IMPORTERS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("importlib", "builtins"):
            names.update(a.asname for a in node.names if a.name in IMPORTERS and a.asname)
    return names


def _importer(call: ast.Call, names: set[str]) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in names


def imports(path: Path, root: Path, package: str, known: set[str]) -> tuple[set[str], set[str]]:
    """The package's modules a file imports at run time, and the scopes of its computed (hidden) imports."""
    found: set[str] = set()
    hidden: set[str] = set()
    here = path.relative_to(root).parent.parts  # the file's own package, for relative imports
    tree = ast.parse(path.read_text(encoding="utf-8"))
    importers = _importers(tree)
    for node, scope in _scopes(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package
                up = here[: len(here) - node.level + 1]
                base = ".".join([package, *up, *([base] if base else [])])
            target = _target(base, package, known)
            if target is None:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target != "__init__" else alias.name
                found.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            found.update(t for a in node.names if (t := _target(a.name, package, known)) is not None)
        elif isinstance(node, ast.Call) and _importer(node, importers):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                target = _target(arg.value, package, known)
                if target is not None:
                    found.add(target)
            else:
                hidden.add(scope or "<module>")
    return found, hidden


def graph(root: Path = PACKAGE, package: str = "pdec") -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``{module: modules it imports}`` and ``{module: scopes of its computed imports}`` for a package's folder."""
    names = module_names(root)
    known = set(names)
    edges, hidden = {}, {}
    for name, path in names.items():
        found_imports, found = imports(path, root, package, known)
        edges[name] = found_imports - {name}
        if found:
            hidden[name] = found
    return edges, hidden


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def walk(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                return [*path, module, target]
            if target not in state:
                found = walk(target, [*path, module])
                if found:
                    return found
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            found = walk(module, [])
            if found:
                return found[found.index(found[-1]) :]
    return None


def unlisted_lookups(hidden: dict[str, set[str]]) -> list[str]:
    """The computed imports that are not listed in ``LOOKUPS``."""
    return [f"{m}: {s}" for m, scopes in sorted(hidden.items()) for s in sorted(scopes - LOOKUPS.get(m, set()))]


# ------------------------------------------------------------------------------------------------------ pdec itself


def test_every_module_has_a_place_in_the_pipeline():
    assert set(module_names(PACKAGE)) == set(ordered())
    assert len(ordered()) == len(set(ordered()))


def test_at_most_a_handful_of_modules_at_the_top():
    assert [m for m in ordered() if stage_of(m) == ""] == ["fit", "__init__", "cli", "__main__"]


def test_no_import_cycles():
    edges, _ = graph()
    assert find_cycle(edges) is None, "import cycle: " + " -> ".join(find_cycle(edges))


def test_no_hidden_imports():
    _, hidden = graph()
    assert not unlisted_lookups(hidden), unlisted_lookups(hidden)
    assert set(hidden) == set(LOOKUPS), "a listed lookup is gone: drop it from LOOKUPS"


def test_imports_follow_the_pipeline():
    rank = {m: i for i, m in enumerate(ordered())}
    edges, _ = graph()
    upward = [f"{m} imports {t}" for m, targets in edges.items() for t in targets if rank[t] > rank[m]]
    assert not upward, upward


def test_stages_never_import_later_stages():
    stages = [s for s, _ in STAGES]
    edges, _ = graph()
    later = sorted(
        {f"{stage_of(m) or 'top'} imports {stage_of(t) or 'top'} ({m} -> {t})"
         for m, targets in edges.items() for t in targets
         if stages.index(stage_of(t)) > stages.index(stage_of(m))}
    )
    assert not later, later


def test_modules_are_imported_from_their_own_path():
    """``from pdec.train.trainer import checkpoint`` would hide an edge: a module is imported by its own name."""
    import importlib
    import inspect

    through = []
    for name, path in module_names(PACKAGE).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pdec."):
                source = importlib.import_module(node.module)
                if not hasattr(source, "__path__"):  # a module, not a package: its names are its own
                    through += [f"{name}: from {node.module} import {a.name}" for a in node.names
                                if inspect.ismodule(getattr(source, a.name, None))]
    assert not through, through


def test_registry_entries_load_from_the_stages_listed():
    """Each registry entry names an implementation that exists, in a module its axis may use (REGISTRY_MODULES)."""
    from pdec.core import registry

    registries = [v for v in vars(registry).values() if isinstance(v, registry.Registry)]
    assert {r.axis for r in registries} == set(REGISTRY_MODULES)
    for r in registries:
        for name, entry in r.entries.items():
            module = entry.partition(":")[0]
            assert module in REGISTRY_MODULES[r.axis], f"{r.axis} {name}: {entry} is not listed"
            assert r.load(name) is not None


def test_the_public_api_reads_as_before():
    """pdec.load, compile, fit, Problem, Result, registry and the errors; importing pdec imports no torch."""
    import subprocess
    import sys

    code = (
        "import sys, pdec\n"
        "assert 'torch' not in sys.modules\n"
        "assert callable(pdec.load) and callable(pdec.compile) and callable(pdec.fit)\n"
        "assert 'mlp' in pdec.registry.NETWORKS.names and issubclass(pdec.PdecSyntaxError, pdec.PdecError)\n"
        "assert 'torch' not in sys.modules\n"
        "from pdec.run.results import Result\n"
        "assert pdec.Result is Result\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------------------------- the checker


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "fake"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_checker_finds_an_import_cycle_hidden_in_importlib(tmp_path):
    root = _package(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/base.py": "import importlib\n\ndef later():\n    return importlib.import_module('fake.high.top')\n",
            "high/__init__.py": "",
            "high/top.py": "from fake.low.base import later\n",
        },
    )
    edges, hidden = graph(root, "fake")
    assert edges["low.base"] == {"high.top"} and not hidden
    assert find_cycle(edges) == ["high.top", "low.base", "high.top"]


def test_the_checker_sees_dunder_import_and_aliases(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from importlib import import_module as load\n\ndef f():\n    return load('fake.b')\n",
            "b.py": "def g():\n    return __import__('fake.a')\n",
        },
    )
    edges, _ = graph(root, "fake")
    assert edges["a"] == {"b"} and edges["b"] == {"a"}
    assert find_cycle(edges) is not None


@pytest.mark.parametrize(
    "call", ["importlib.import_module(name)", "importlib.import_module(f'fake.{name}')", "__import__('fake.' + name)"]
)
def test_the_checker_fails_on_a_computed_import(tmp_path, call):
    root = _package(tmp_path, {"a.py": f"import importlib\n\ndef f(name):\n    return {call}\n"})
    _, hidden = graph(root, "fake")
    assert hidden == {"a": {"f"}}
    assert unlisted_lookups(hidden) == ["a: f"]


def test_the_checker_skips_type_checking_imports(tmp_path):
    root = _package(tmp_path, {"a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fake import b\n",
                               "b.py": "from fake import a\n"})
    edges, _ = graph(root, "fake")
    assert edges == {"__init__": set(), "a": set(), "b": {"a"}}


# ----------------------------------------------------------------------------------------------------- size caps

MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 250


def test_functions_and_classes_stay_small():
    """No function over 60 lines and no class over 250 in pdec/ (docstrings and decorators included)."""
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                size = node.end_lineno - first + 1
                limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
                if size > limit:
                    rel = path.relative_to(PACKAGE)
                    too_long.append(f"{rel}:{node.lineno} {node.name} ({size} lines, at most {limit})")
    assert not too_long, too_long


# ----------------------------------------------------------------------------------------------------- typed state

# The owners of a run's state: a helper receives typed records (pdec.train.state), never one of these typed Any.
OWNERS = {"trainer", "trainers", "setup"}


def _untyped_owners(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, parameter)`` of every parameter named like a run's owner and annotated ``Any`` (or not at all)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                if arg.arg in OWNERS and (arg.annotation is None or ast.unparse(arg.annotation) == "Any"):
                    found.append((node.lineno, f"{node.name}({arg.arg})"))
    return found


def test_no_helper_takes_the_run_s_owner_untyped():
    """Checkpoint, metrics, inverse and the rest say what they reach: no ``trainer: Any``, no stand-in namespaces."""
    untyped, stand_ins = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        rel = path.relative_to(PACKAGE)
        untyped += [f"{rel}:{line} {name}" for line, name in _untyped_owners(ast.parse(text))]
        if "SimpleNamespace" in text:
            stand_ins.append(str(rel))
    assert not untyped, untyped
    assert not stand_ins, stand_ins


def test_the_checker_finds_an_untyped_trainer():
    tree = ast.parse("def f(trainer: Any, n: int) -> None: ...\ndef g(setup: Setup, trainer) -> None: ...")
    assert _untyped_owners(tree) == [(1, "f(trainer)"), (2, "g(trainer)")]
