"""No SQL and no database driver outside ``mock_server/store/``: the store interface is the only seam.

Walks the source of ``mock_server`` and ``contracts`` with :mod:`ast`: an import of a database
driver, or a string that reads as SQL (docstrings aside), anywhere but the store package fails.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "mock_server" / "store"
DRIVERS = ("sqlite3", "_sqlite3", "psycopg", "psycopg2", "psycopg_pool", "asyncpg", "sqlalchemy")
SQL = re.compile(
    r"\b(SELECT\b.+\bFROM|INSERT (OR \w+ )?INTO|UPDATE \S+ SET|DELETE FROM|CREATE (UNIQUE )?(TABLE|INDEX)|DROP TABLE"
    r"|ALTER TABLE|PRAGMA \w+|BEGIN IMMEDIATE|ORDER BY|GROUP BY|IS NULL|BETWEEN \? AND)\b|= \?|\"c_"
)


def _sources() -> Iterator[Path]:
    for package in ("mock_server", "contracts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if STORE not in path.parents:
                yield path


def _docstrings(tree: ast.AST) -> set[int]:
    """The ``id()`` of each docstring node of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _offences(source: str, where: str) -> Iterator[str]:
    tree = ast.parse(source, where)
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in DRIVERS:
                    yield f"{where}:{node.lineno}: imports the database driver {name!r}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if SQL.search(node.value):
                yield f"{where}:{node.lineno}: SQL text {node.value[:60]!r}"


def test_no_sql_and_no_database_driver_outside_the_store_package() -> None:
    offences = [o for path in _sources() for o in _offences(path.read_text(), str(path.relative_to(ROOT)))]
    assert offences == [], "move these into mock_server/store/:\n" + "\n".join(offences)


def test_the_guard_catches_sql_and_drivers() -> None:
    # Given a module that imports a driver and writes SQL in an f-string, the guard names both,
    # and leaves its docstring (which may speak of SELECT ... FROM) alone.
    source = '"""Reads SELECT x FROM y in prose."""\nimport psycopg\nq = f"SELECT pk FROM {t} WHERE id = ?"\n'
    offences = list(_offences(source, "probe.py"))
    assert offences == [
        "probe.py:2: imports the database driver 'psycopg'",
        "probe.py:3: SQL text 'SELECT pk FROM '",
        "probe.py:3: SQL text ' WHERE id = ?'",
    ]
