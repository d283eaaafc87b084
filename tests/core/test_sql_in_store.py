"""All SQL lives in ``engine/store/`` (issue 10 §3): a grep of the source tree keeps it so.

Outside the store, no module may hold SQL text, run statements on a connection or
transaction (``tx.execute``, ``tx.one``, ``c.execute`` …), hand functions to the store's
connections (``store.read(fn)``, ``store.write(fn)``) or import a database driver: callers use
the store's typed methods, so a second backend is a second ``engine/store`` and nothing else.

The allow-list names the few places that still do, each with the reason and who removes it;
an entry that no longer matches anything fails too, so the list only ever shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("engine", "tui", "ticketty")
STORE = Path("engine/store")

#: (file, enclosing function) → why it may still hold SQL
ALLOWED: dict[tuple[str, str], str] = {
    # (file, "Class.function"): why this place may still hold SQL — nothing does today
}

SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b|\b(?:CREATE|DROP|ALTER)\s+(?:VIRTUAL\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|\bPRAGMA\s+\w+|\bBEGIN\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE)\b")
CONNECTION_NAMES = {"tx", "conn", "c", "cur", "cursor", "db", "connection", "_conn"}
DRIVERS = {"sqlite3", "aiosqlite", "asyncpg", "psycopg", "psycopg2", "engine.store.sqlite"}


def _name(node: ast.AST) -> str:
    """The last name of ``a.b.c`` (``c``), or of a plain name."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f-string: its literal parts, holes as "?"
        return "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values)
    return None


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[str, int, str]] = []  # (scope, line, what)

    def _hit(self, node: ast.AST, what: str) -> None:
        self.found.append((".".join(self.scope) or "<module>", getattr(node, "lineno", 0), what))

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scoped

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        text = _text(node)
        if text and SQL.search(text):
            self._hit(node, f"SQL text {text[:60]!r}")
        # the holes' own expressions are checked too (no generic_visit of the parts)
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                self.visit(value)

    def visit_Constant(self, node: ast.Constant) -> None:
        text = _text(node)
        if text and SQL.search(text):
            self._hit(node, f"SQL text {text[:60]!r}")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = _name(func.value)
            first = node.args[0] if node.args else None
            if func.attr in ("execute", "executemany", "executescript") and (
                    receiver in CONNECTION_NAMES or (first is not None and _text(first))):
                self._hit(node, f"{receiver}.{func.attr}(…)")
            elif func.attr in ("one", "all") and receiver == "tx":
                self._hit(node, f"tx.{func.attr}(…)")
            elif func.attr in ("read", "write", "write_lease") and receiver == "store":
                self._hit(node, f"store.{func.attr}(fn) — use a typed store method")
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in DRIVERS or alias.name.split(".")[0] in DRIVERS:
                self._hit(node, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module in DRIVERS or module.split(".")[0] in DRIVERS or \
                module.startswith("engine.store.sqlite"):
            self._hit(node, f"from {module} import …")


def findings(source: str) -> list[tuple[str, int, str]]:
    finder = _Finder()
    finder.visit(ast.parse(source))
    return finder.found


def scan() -> dict[tuple[str, str], list[str]]:
    """Every finding outside the store, by (file, enclosing function)."""
    out: dict[tuple[str, str], list[str]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.is_relative_to(STORE):
                continue
            for scope, line, what in findings(path.read_text(encoding="utf-8")):
                out.setdefault((rel.as_posix(), scope), []).append(f"{rel}:{line}: {what}")
    return out


def test_the_finder_sees_each_way_of_talking_sql():
    src = '''
import sqlite3
from engine.store.sqlite.connection import SqliteConnection
Q = "SELECT id FROM tickets WHERE id=?"
def f(tx, store, c, n):
    tx.execute("UPDATE tickets SET unread=0")
    tx.one(Q)
    c.execute(f"DELETE FROM kv WHERE key={n}")
    store.read(lambda conn: conn.execute(Q))
    """Connect, authenticate and SELECT the folder."""
    proto.execute(Command("STARTTLS"))
'''
    kinds = [what.split("(")[0].split(" ")[0] for _, _, what in findings(src)]
    assert kinds.count("SQL") == 3  # Q, the UPDATE, the DELETE f-string; not the IMAP SELECT
    assert {"import", "from", "tx.execute", "tx.one", "c.execute", "store.read",
            "conn.execute"} <= set(kinds)
    assert not any("proto" in what for _, _, what in findings(src))


def _allowed_by(file: str, scope: str) -> tuple[str, str] | None:
    """The allow-list entry covering a finding (an entry covers the functions inside it)."""
    for allowed_file, allowed_scope in ALLOWED:
        if file == allowed_file and (scope == allowed_scope
                                     or scope.startswith(allowed_scope + ".")):
            return allowed_file, allowed_scope
    return None


def test_no_sql_outside_the_store():
    found = scan()
    assert not any(file.startswith("engine/store/") for file, _ in found)
    outside = [line for (file, scope), lines in found.items() if not _allowed_by(file, scope)
               for line in lines]
    assert not outside, ("SQL outside engine/store — give the caller a typed store method:\n"
                         + "\n".join(outside))


def test_the_allow_list_only_names_places_that_still_need_it():
    used = {_allowed_by(file, scope) for file, scope in scan()}
    stale = [f"{file} {scope}" for file, scope in ALLOWED if (file, scope) not in used]
    assert not stale, "no SQL left there: remove from ALLOWED:\n" + "\n".join(stale)
