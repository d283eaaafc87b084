"""How tickets move: pipelines and their statuses, and the workspace-wide settings.

:class:`WorkflowMixin` is mixed into :class:`engine.store.Store`; the synchronous functions
(``get_pipeline``, ``load_workspace`` …) run inside other transactions (ingest, replies).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pydantic import ValidationError

from engine.models import DEFAULT_PIPELINE, Pipeline, Status, WorkspaceSettings
from engine.store.db import StoreError, Tx

UNCHANGED: Any = object()  # "leave this field as it is" where None means "the default"
WORKSPACE_KEY = "workspace"


def load_pipelines(conn: sqlite3.Connection) -> list[Pipeline]:
    out = []
    for p in conn.execute("SELECT id, name, after_reply, on_customer_reply FROM pipelines"
                          " ORDER BY id").fetchall():
        statuses = [
            Status(name=s["name"], closed=bool(s["closed"]))
            for s in conn.execute(
                "SELECT name, closed FROM statuses WHERE pipeline_id=? ORDER BY position", (p["id"],)
            )
        ]
        out.append(Pipeline(id=p["id"], name=p["name"], statuses=statuses,
                            after_reply=p["after_reply"],
                            on_customer_reply=p["on_customer_reply"]))
    return out


def get_pipeline(conn: sqlite3.Connection | Tx, name: str) -> Pipeline:
    """A pipeline by name; inside a transaction the lookup is cached for its duration."""
    if isinstance(conn, Tx):
        key = f"pipeline:{name}"
        if key not in conn.cache:
            conn.cache[key] = get_pipeline(conn.conn, name)
        return conn.cache[key]
    for p in load_pipelines(conn):
        if p.name == name:
            return p
    raise StoreError(f"no pipeline named {name!r}")


def put_setting(tx: Tx, key: str, value: str) -> None:
    """Set ``kv[key]`` to ``value`` (JSON text), inserting or replacing it."""
    tx.execute("INSERT INTO kv(key, value) VALUES (?,?)"
               " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))


def load_workspace(conn: sqlite3.Connection) -> WorkspaceSettings:
    """The workspace settings (defaults for keys never set)."""
    row = conn.execute("SELECT value FROM kv WHERE key=?", (WORKSPACE_KEY,)).fetchone()
    return WorkspaceSettings.model_validate_json(row[0]) if row else WorkspaceSettings()


def _check_statuses(statuses: list[Status]) -> None:
    if not any(not s.closed for s in statuses) or not any(s.closed for s in statuses):
        raise StoreError("a pipeline needs at least one open and one closed status")
    names = [s.name for s in statuses]
    if len(set(names)) != len(names):
        raise StoreError("a status name appears twice")


def _replace_statuses(tx: Tx, pipe: Pipeline, statuses: list[Status]) -> None:
    """Write a pipeline's new status list; refuse to drop a status something still uses."""
    _check_statuses(statuses)
    names = [s.name for s in statuses]
    for dropped in {s.name for s in pipe.statuses} - set(names):
        if tx.one("SELECT 1 FROM tickets WHERE pipeline=? AND status=? LIMIT 1",
                  (pipe.name, dropped)):
            raise StoreError(f"status {dropped!r} is still used by tickets")
        for ch in tx.conn.execute("SELECT name, defaults FROM channels WHERE removed=0"):
            d = json.loads(ch["defaults"])
            if d.get("pipeline") == pipe.name and d.get("status") == dropped:
                raise StoreError(f"status {dropped!r} is the default of channel "
                                 f"{ch['name']!r}")
    tx.execute("DELETE FROM statuses WHERE pipeline_id=?", (pipe.id,))
    for pos, status in enumerate(statuses):
        tx.execute("INSERT INTO statuses VALUES (?,?,?,?)",
                   (pipe.id, status.name, pos, int(status.closed)))


def insert_pipeline(tx: Tx, pipeline: Pipeline) -> Pipeline:
    _check_statuses(pipeline.statuses)
    try:
        pipeline.check_reply_statuses()
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    if tx.one("SELECT 1 FROM pipelines WHERE name=?", (pipeline.name,)):
        raise StoreError(f"a pipeline named {pipeline.name!r} already exists")
    pipeline_id = tx.insert(
        "INSERT INTO pipelines(name, after_reply, on_customer_reply) VALUES (?,?,?)",
        (pipeline.name, pipeline.after_reply, pipeline.on_customer_reply))
    for pos, status in enumerate(pipeline.statuses):
        tx.execute("INSERT INTO statuses VALUES (?,?,?,?)",
                   (pipeline_id, status.name, pos, int(status.closed)))
    tx.event("pipeline.added", name=pipeline.name)
    return pipeline.model_copy(update={"id": pipeline_id})


def ensure_default_pipeline(tx: Tx) -> None:
    if not tx.one("SELECT 1 FROM pipelines LIMIT 1"):
        insert_pipeline(tx, DEFAULT_PIPELINE)


class WorkflowMixin:
    """Async pipeline and workspace-setting operations."""

    async def pipelines(self) -> list[Pipeline]:
        return await self.read(load_pipelines)  # type: ignore[attr-defined]

    async def add_pipeline(self, pipeline: Pipeline) -> Pipeline:
        def fn(tx: Tx) -> Pipeline:
            return insert_pipeline(tx, pipeline)

        return await self.write(fn)  # type: ignore[attr-defined]

    async def set_pipeline_statuses(self, name: str, statuses: list[Status]) -> Pipeline:
        """Replace a pipeline's statuses (see :meth:`update_pipeline`)."""
        return await self.update_pipeline(name, statuses=statuses)

    async def update_pipeline(self, name: str, *, statuses: list[Status] | None = None,
                              after_reply: str | None | object = UNCHANGED,
                              on_customer_reply: str | None | object = UNCHANGED) -> Pipeline:
        """Change a pipeline: its statuses (new ones, order, open/closed) and the statuses
        replies set (``None``: back to the default). A status still used by a ticket, a
        channel default or a reply setting cannot be dropped."""

        def fn(tx: Tx) -> Pipeline:
            current = get_pipeline(tx.conn, name)
            changes: dict[str, Any] = {}
            if statuses is not None:
                changes["statuses"] = statuses
            if after_reply is not UNCHANGED:
                changes["after_reply"] = after_reply or None
            if on_customer_reply is not UNCHANGED:
                changes["on_customer_reply"] = on_customer_reply or None
            updated = current.model_copy(update=changes)
            if statuses is not None:
                _replace_statuses(tx, current, statuses)
            try:
                updated.check_reply_statuses()
            except ValueError as exc:
                raise StoreError(str(exc)) from None
            tx.execute("UPDATE pipelines SET after_reply=?, on_customer_reply=? WHERE id=?",
                       (updated.after_reply, updated.on_customer_reply, current.id))
            tx.cache.pop(f"pipeline:{name}", None)
            tx.event("pipeline.updated", name=name)
            return updated

        return await self.write(fn)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- workspace
    async def workspace(self) -> WorkspaceSettings:
        return await self.read(load_workspace)  # type: ignore[attr-defined]

    async def update_workspace(self, **changes: Any) -> WorkspaceSettings:
        """Change workspace settings (validated by :class:`WorkspaceSettings`)."""

        def fn(tx: Tx) -> WorkspaceSettings:
            current = load_workspace(tx.conn).model_dump()
            unknown = set(changes) - set(current)
            if unknown:
                raise StoreError(f"no workspace setting {sorted(unknown)[0]!r} (settings: "
                                 f"{', '.join(current)})")
            try:
                updated = WorkspaceSettings.model_validate({**current, **changes})
            except ValidationError as exc:
                err = exc.errors()[0]
                raise StoreError(f"{err['loc'][0]}: {err['msg']}") from None
            put_setting(tx, WORKSPACE_KEY, updated.model_dump_json())
            tx.event("workspace.updated", **changes)
            return updated

        return await self.write(fn)  # type: ignore[attr-defined]
