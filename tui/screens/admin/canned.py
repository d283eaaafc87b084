"""Canned replies: add, edit, remove (``:canned``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.channels.setup import SettingError
from engine.models import CannedReply
from tui.screens.admin.base import AdminListScreen
from tui.widgets.settings_form import FieldSpec, specs_from_model


class CannedForm(BaseModel):
    title: str = Field(description="What agents type to find it in the composer's picker.")
    body: str = Field(description="The text inserted into the reply.")


class CannedScreen(AdminListScreen):
    HELP_TITLE = "canned replies"
    TITLE = "Canned replies"
    NOUN = "canned reply"
    COLUMNS = ["Title", "Body"]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        replies = await self.tapp.store.canned_replies()
        return replies, [[r.title, (r.body.splitlines() or [""])[0]] for r in replies]

    def describe(self, item: CannedReply) -> str:
        return repr(item.title)

    async def form(self, item: CannedReply | None) -> tuple[list[FieldSpec], dict[str, Any]]:
        values = {"title": item.title, "body": item.body} if item else {}
        return specs_from_model(CannedForm, multiline=["body"]), values

    async def save(self, values: dict[str, Any], item: CannedReply | None) -> None:
        title, body = values["title"].strip(), values["body"].strip()
        if not title:
            raise SettingError("title", "a canned reply needs a title")
        if not body:
            raise SettingError("body", "a canned reply needs a body")
        store = self.tapp.store
        if item is None and any(r.title == title for r in await store.canned_replies()):
            raise SettingError("title", f"a canned reply titled {title!r} already exists")
        await store.add_canned(title, body)
        if item is not None and item.title != title:
            await store.remove_canned(item.title)

    async def delete_item(self, item: CannedReply) -> None:
        await self.tapp.store.remove_canned(item.title)
