"""The package layout stays true: stages import downwards only, no import cycles.

docs/architecture.md draws the layers. Every import of a callqa module is counted, at module
level or under ``if TYPE_CHECKING:``; a function-local import of a callqa module is refused
unless it is listed in :data:`LAZY` with its reason (heavy dependencies behind it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "callqa"

# Lower numbers sit lower. A module may import modules of a lower layer, and modules of its
# own package; never a higher layer, nor another package of the same layer.
LAYERS = {
    "callqa.errors": 0,
    "callqa.languages": 1,
    "callqa.files": 1,
    "callqa.stages": 1,
    "callqa.heap": 1,
    "callqa.words": 4,
    "callqa.types": 2,
    "callqa.ranges": 2,
    "callqa.config": 3,
    "callqa.audio": 10,
    "callqa.transcription": 20,
    "callqa.measures": 30,
    "callqa.checks": 40,
    "callqa.scoring": 50,
    "callqa.privacy": 60,
    "callqa.sentiment": 35,
    "callqa.blockwise": 65,
    "callqa.pipeline": 70,
    "callqa.outputs": 70,
    "callqa.review": 75,
    "callqa.batch": 80,
    "callqa.cli": 90,
    "callqa.__main__": 95,
}

# Function-local imports of callqa modules that are allowed, with the reason.
LAZY = {
    # the package's public names load on first use, so `import callqa` stays instant
    ("callqa", "callqa.pipeline"),
    ("callqa", "callqa.transcription"),
    ("callqa", "callqa.scoring.scorecard"),
    ("callqa", "callqa.config"),
    ("callqa", "callqa.transcription.files"),
    ("callqa", "callqa.scoring.rubric"),
    ("callqa", "callqa.types"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The callqa module that ``name`` (a module or a module.attribute) refers to."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, tree: ast.Module) -> list[tuple[str, int, bool]]:
    """(imported callqa module, line, at module level) for every import in ``tree``."""
    top = {id(node) for node in _module_level(tree.body)}
    found = []
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            names = [f"{base}.{a.name}" for a in node.names]
        for name in names:
            target = _resolve(name) if name.startswith("callqa") else None
            if target is not None and target != module:
                found.append((target, node.lineno, id(node) in top))
    return found


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements at module level, looking into ``if``/``try`` blocks (TYPE_CHECKING too)."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.If):
            out += _module_level(node.body) + _module_level(node.orelse)
        elif isinstance(node, ast.Try):
            out += _module_level(node.body) + _module_level(node.orelse)
            for handler in node.handlers:
                out += _module_level(handler.body)
    return out


def _layer(module: str) -> tuple[str, int]:
    """(package or module that owns the layer, rank) for a callqa module."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


GRAPH = {
    module: _imports(module, ast.parse(path.read_text(encoding="utf-8")))
    for module, path in MODULES.items()
}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if module != "callqa":
            _layer(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "callqa"))
def test_imports_point_down(module: str) -> None:
    own, rank = _layer(module)
    for target, line, _ in GRAPH[module]:
        if target == "callqa":
            continue
        theirs, their_rank = _layer(target)
        if theirs == own:
            continue
        assert their_rank < rank, (
            f"{module}:{line} imports {target}: layer {theirs} ({their_rank}) is not below "
            f"{own} ({rank})"
        )


def test_nothing_imports_the_cli() -> None:
    for module, edges in GRAPH.items():
        if module.startswith("callqa.cli") or module == "callqa.__main__":
            continue
        for target, line, _ in edges:
            assert not target.startswith("callqa.cli"), f"{module}:{line} imports {target}"


def test_no_function_local_imports_of_callqa_modules() -> None:
    """Only the CLI imports the library inside its commands, so that ``callqa --help`` does not
    pay for numpy, scipy and onnxruntime (about 0.5 s)."""
    for module, edges in GRAPH.items():
        if module.startswith("callqa.cli"):
            continue
        for target, line, top in edges:
            if not top:
                assert (module, target) in LAZY, (
                    f"{module}:{line} imports {target} inside a function: import it at the top "
                    "(or list it in LAZY with the heavy dependency that justifies it)"
                )


def test_no_import_cycles() -> None:
    edges = {m: {t for t, _, _ in e if t != "callqa"} for m, e in GRAPH.items()}
    # a package's __init__ importing its own modules is not a cycle with them
    for module in edges:
        if MODULES[module].name == "__init__.py":
            edges[module] = {t for t in edges[module] if not t.startswith(module + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_layout_test_catches_an_upward_import(tmp_path: Path) -> None:
    tree = ast.parse("from callqa.cli.app import app\n")
    edges = _imports("callqa.measures.dynamics", tree)
    assert edges == [("callqa.cli.app", 1, True)]
    assert _layer("callqa.cli.app")[1] > _layer("callqa.measures.dynamics")[1]


def test_modules_stay_small() -> None:
    """About 600 lines at most, unless the module is one cohesive thing (listed here)."""
    cohesive = {
        "callqa.batch.store",  # the store's schema and its queries
    }
    for module, path in MODULES.items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if module not in cohesive:
            assert lines <= 650, f"{module} has {lines} lines: split it by what it does"
