"""Binding ids: one scheme, ``<area>.<action>``, and the ids of earlier versions.

Every :class:`~textual.binding.Binding` has an id, remappable from the config's ``[keymap]``
(docs/keys.md lists them all). The area says where the key works: ``app`` (everywhere),
``queue`` (the queue and its table), ``ticket`` (an action on a ticket: the one under the
queue's cursor or the open one — the same id on both screens), ``thread``, ``composer``,
``command_line``, ``picker``, ``help``, ``confirm``, ``channels``, ``channel_edit``, ``wizard``,
``signin``, ``admin``, ``form``, ``quarantine``, ``quarantine_item``, ``contact``.

Configs written for earlier versions keep working: :func:`upgrade` maps the old ids of
:data:`RENAMED` to the new ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("ticketty.tui")

#: old binding id → its id in the scheme
RENAMED: dict[str, str] = {
    "help": "app.help",
    "command_line": "app.command_line",
    "palette": "app.palette",
    "availability": "app.availability",
    "channels": "app.channels",
    "undo": "app.undo",
    "view.next": "queue.next_view",
    "view.previous": "queue.previous_view",
    **{f"view.{n}": f"queue.view_{n}" for n in range(1, 10)},
    "cursor.down": "queue.down",
    "cursor.up": "queue.up",
    "cursor.first": "queue.first",
    "cursor.last": "queue.last",
    "cursor.page_down": "queue.page_down",
    "cursor.page_up": "queue.page_up",
    "reply": "ticket.reply",
    "note": "ticket.note",
    "assign": "ticket.assign",
    "assign.me": "ticket.take",
    "status": "ticket.status",
    "priority": "ticket.priority",
    "pipeline": "ticket.pipeline",
    "team": "ticket.team",
    "contact.owner": "ticket.contact_owner",
    "close": "ticket.close",
    "reopen": "ticket.reopen",
    "retry": "ticket.retry",
}


def upgrade(keymap: Mapping[str, str]) -> dict[str, str]:
    """The config's ``[keymap]`` in today's ids: an old id counts as its new name (when both
    are given, the new one wins)."""
    out: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        new = RENAMED.get(binding_id)
        if new is None:
            out[binding_id] = keys
        elif new not in keymap:
            log.info("keymap: binding id %r is now %r", binding_id, new)
            out[new] = keys
    return out
