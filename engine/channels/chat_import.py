"""``ticketty import chat FILE``: chat history from another tool, as closed tickets.

The file is JSON Lines, one message a line (docs/chat-import.md)::

    {"conversation_id": "c-1042", "time": "2026-03-02T10:15:00Z", "author_kind": "visitor",
     "name": "Ana Lima", "email": "ana@customer.test", "text": "Hi, where is my order?"}

``author_kind`` is ``visitor``, ``agent`` or ``bot``. The whole file is validated before
anything is written (a bad line names its number and writes nothing). Each conversation
becomes one ticket (in ``--status``, default closed) on the chat channel named by
``--channel`` (else the first chat channel, else none), its lines in time order; a visitor
with an email is the contact of that email (the same contact as their mails), one without is
a visitor identity made from the conversation id. Every line has a key from its content, so
running the import again adds nothing twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.importers import ImportError_, ImportReport, read_text
from engine.ingest import ingest_many
from engine.models import InboundMessage, Source, normalize_email
from engine.store import Store

KINDS = ("visitor", "agent", "bot")
FIELDS = ("conversation_id", "time", "author_kind", "name", "email", "text")


def _visitor_for(conversation: str) -> str:
    digest = hashlib.sha256(f"import:{conversation}".encode()).digest()
    return "v" + base64.urlsafe_b64encode(digest).decode()[:22]


def _line(raw: str, where: str) -> dict[str, Any]:
    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportError_(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise ImportError_(f"{where}: a line is one JSON object")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise ImportError_(f"{where}: unknown field(s) {', '.join(unknown)} (known: "
                           f"{', '.join(FIELDS)})")
    for key in ("conversation_id", "time", "author_kind", "text"):
        if not str(row.get(key) or "").strip():
            raise ImportError_(f"{where}: {key} is missing")
    if row["author_kind"] not in KINDS:
        raise ImportError_(f"{where}: author_kind {row['author_kind']!r} must be one of "
                           f"{', '.join(KINDS)}")
    try:
        when = datetime.fromisoformat(str(row["time"]).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ImportError_(f"{where}: time {row['time']!r} is not an ISO 8601 time") from None
    row["time"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    if row.get("email"):
        try:
            row["email"] = normalize_email(str(row["email"]))
        except ValueError as exc:
            raise ImportError_(f"{where}: email: {exc}") from None
    return row


def read_chat(path: Path, channel_id: int | None, status: str
              ) -> list[list[InboundMessage]]:
    """Every conversation's messages, in time order (nothing is written here)."""
    text = read_text(path)
    rows = [(n, _line(raw, f"{path}:{n}")) for n, raw in enumerate(text.splitlines(), 1)
            if raw.strip()]
    if not rows:
        raise ImportError_(f"{path}: no messages in the file")
    conversations: dict[str, list[dict[str, Any]]] = {}
    for _, row in rows:
        conversations.setdefault(str(row["conversation_id"]), []).append(row)
    out = []
    for conv, lines in conversations.items():
        lines.sort(key=lambda r: r["time"])
        visitor = next((r for r in lines if r["author_kind"] == "visitor"), None)
        email = next((r["email"] for r in lines if r["author_kind"] == "visitor"
                      and r.get("email")), None)
        name = str(visitor.get("name") or "") if visitor else ""
        subject = str(visitor["text"] if visitor else lines[0]["text"]).strip().splitlines()[0]
        messages = []
        for row in lines:
            digest = hashlib.sha256(json.dumps(
                [row["author_kind"], row["time"].isoformat(), row["text"]]).encode()
            ).hexdigest()[:16]
            ours = row["author_kind"] != "visitor"
            key = f"{'bot:' if row['author_kind'] == 'bot' else ''}chatimport:{conv}:{digest}"
            messages.append(InboundMessage(
                channel_id=channel_id, key=key,
                sender_kind="email" if email else "visitor",
                sender=email or _visitor_for(conv), sender_name=name, subject=subject[:200],
                text=str(row["text"]), received_at=row["time"],
                conversation_key=f"import:{conv}", import_status=status, source=Source.import_,
                extra={"history_outbound": {
                    "author_email": str(row.get("email") or ""),
                    "author_name": str(row.get("name") or row["author_kind"].title())}}
                if ours else {}))
        out.append(messages)
    return out


async def import_chat(store: Store, path: Path, *, status: str = "closed",
                      channel_name: str | None = None,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import a chat export (see the module docstring); returns where every line went."""
    statuses = {s.name for p in await store.pipelines() for s in p.statuses}
    if status not in statuses:
        raise ImportError_(f"status {status!r} is not a known status "
                           f"({', '.join(sorted(statuses))})")
    chats = [c for c in await store.channels() if c.kind == "chat"]
    if channel_name:
        chats = [c for c in chats if c.name == channel_name]
        if not chats:
            raise ImportError_(f"no chat channel called {channel_name!r}")
    conversations = read_chat(path, chats[0].id if chats else None, status)
    report = ImportReport()
    for n, messages in enumerate(conversations, 1):
        first = (await ingest_many(store, messages[:1]))[0]
        rest = [m.model_copy(update={"ticket_hint": first.ticket_id}) for m in messages[1:]]
        report.count([first, *(await ingest_many(store, rest) if rest else [])])
        if progress:
            progress(n, len(conversations))
    return report
