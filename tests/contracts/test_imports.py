"""The kit judges on its own: of the mock it reads the document model, and nothing else.

A parsing bug shared by the server and the judge could never be caught, so every import in
``contracts/`` (at module level, inside functions, or for type checking only) is checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import contracts

#: What the kit may read of the mock: the parsed document and its declarations as data, and the root exception.
ALLOWED = {"mock_server.spec", "mock_server.declarations", "mock_server.errors"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]  # import mock_server.store
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mock_server":  # from mock_server import columns
                found += [(node.lineno, f"mock_server.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_the_kit_imports_nothing_of_the_mock_but_the_document_model() -> None:
    root = Path(contracts.__file__).parent
    files = sorted(root.rglob("*.py"))
    bad = [
        f"contracts/{path.relative_to(root)}:{line} imports {name}"
        for path in files
        for line, name in _imports(path)
        if name.startswith("mock_server.") and name not in ALLOWED
    ]

    assert len(files) > 15
    assert not bad, "\n".join(bad)


def test_the_guard_sees_imports_inside_functions_and_type_checking_blocks(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mock_server.actions import ListAction\n"
        "def f():\n    import mock_server.store\n    from mock_server import columns\n"
    )

    names = [name for _, name in _imports(sample)]

    assert {"mock_server.actions", "mock_server.store", "mock_server.columns"} <= set(names)
