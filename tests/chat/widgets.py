"""A widget stand-in for unit tests of the chat adapter: a :class:`Widget` whose socket is a
list of the frames sent (no imports of the contract kits, so any test may use it)."""

from __future__ import annotations

import json
from typing import Any

from engine.channels.chat_hub import Widget

VISITOR = "v" + "Contract0visitor0id000"[:22]


def frames_of(sent: list[str]) -> list[dict[str, Any]]:
    return [json.loads(s) for s in sent]


def widget(visitor: str = VISITOR) -> tuple[Widget, list[str]]:
    sent: list[str] = []

    async def send_text(text: str) -> None:
        sent.append(text)

    return Widget(visitor, send_text), sent
