"""The Python examples in README.md and docs/ stay true to the code: each parses, and every name
it imports from callqa exists where the example imports it from (a moved function had left
docs/rubric.md importing ``run_checks`` from the wrong module)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def examples() -> list[tuple[str, str]]:
    out = []
    for path in DOCS:
        for k, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8"))):
            out.append((f"{path.name}#{k + 1}", match.group(1)))
    return out


def test_the_docs_have_examples() -> None:
    assert len(examples()) >= 4


@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
def test_each_example_parses_and_its_callqa_imports_exist(where: str, code: str) -> None:
    tree = ast.parse(code, filename=where)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("callqa"):
            module = importlib.import_module(node.module or "")
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert not missing, f"{where}: {node.module} has no {', '.join(missing)}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("callqa"):
                    importlib.import_module(alias.name)
