"""Teams: add, rename, members, remove (``:teams``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.channels.setup import SettingError
from engine.models import Team
from tui.screens.admin.agents import split
from tui.screens.admin.base import AdminListScreen
from tui.widgets.settings_form import FieldSpec, specs_from_model


class TeamForm(BaseModel):
    name: str = Field(description="The team's name (routing rules and the queue show it).")
    members: str = Field("", description="Comma-separated agent emails.")


class TeamsScreen(AdminListScreen):
    HELP_TITLE = "teams"
    TITLE = "Teams"
    NOUN = "team"
    COLUMNS = ["Team", "Members"]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        teams = await self.tapp.store.teams()
        emails = {a.id: a.email for a in await self.tapp.store.agents()}
        return teams, [[t.name, ", ".join(emails.get(m, "?") for m in t.members)] for t in teams]

    def describe(self, item: Team) -> str:
        return item.name

    async def form(self, item: Team | None) -> tuple[list[FieldSpec], dict[str, Any]]:
        if item is None:
            return specs_from_model(TeamForm), {}
        emails = {a.id: a.email for a in await self.tapp.store.agents()}
        return specs_from_model(TeamForm), {
            "name": item.name, "members": ", ".join(emails.get(m, "") for m in item.members)}

    async def save(self, values: dict[str, Any], item: Team | None) -> None:
        store = self.tapp.store
        name = values["name"].strip()
        if not name:
            raise SettingError("name", "a team needs a name")
        members = [m.lower() for m in split(values["members"])]
        known = {a.email for a in await store.agents()}
        unknown = [m for m in members if m not in known]
        if unknown:
            raise SettingError("members", f"no agent with email {unknown[0]!r}")
        if item is None:
            await store.add_team(name, members)
        else:
            await store.update_team(item.name, rename=name, members=members)

    async def delete_item(self, item: Team) -> None:
        await self.tapp.store.remove_team(item.name)
