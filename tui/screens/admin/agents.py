"""Agents: add, role, seat, skills, teams, working hours, availability, phone (``:agents``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from engine.channels.setup import SettingError
from engine.hours import HoursError, hours_spec, parse_hours
from engine.models import Agent, normalize_os_user
from tui.screens.admin.base import AdminListScreen
from tui.widgets.settings_form import FieldSpec, specs_from_model


class AgentForm(BaseModel):
    """The agent form's declaration (one field per widget, descriptions as help)."""

    email: str = Field(description="Login email; identifies the agent (cannot change later).")
    name: str = Field(description="Full name, shown to colleagues and in signatures.")
    role: Literal["agent", "admin"] = Field("agent", description="Admins set the desk up: "
                                            "channels, agents, teams, pipelines, canned replies.")
    seat: bool = Field(True, description="Only agents with a seat can be routed tickets.")
    availability: Literal["available", "away"] = Field(
        "available", description="Away agents get no routed tickets.")
    skills: str = Field("", description="Comma-separated skills routing rules can ask for.")
    teams: str = Field("", description="Comma-separated team names.")
    working_hours: str = Field("", description="e.g. 'mon-fri 09:00-17:00 Europe/Paris'; "
                               "empty = always working.")
    os_user: str = Field("", description="The OS login that works as this agent when it runs "
                         "ticketty on this host; empty = nobody (docs/security.md).")
    phone: str = Field("", description="Phone number in E.164 (+14155550111): incoming calls "
                       "ring it and call-backs ring it first; empty = never rung.")


def split(text: str) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


class AgentsScreen(AdminListScreen):
    HELP_TITLE = "agents"
    TITLE = "Agents"
    NOUN = "agent"
    COLUMNS = ["Email", "Name", "Role", "Seat", "Availability", "Skills", "Teams", "Hours",
               "OS user"]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        agents = await self.tapp.store.agents()
        names = {t.id: t.name for t in await self.tapp.store.teams()}
        rows = [[a.email, a.name, a.role.value, "yes" if a.seat else "no", a.availability.value,
                 ", ".join(a.skills), ", ".join(names.get(t, "?") for t in a.teams),
                 hours_spec(a.working_hours) or "always", a.os_user or "-"] for a in agents]
        return agents, rows

    def describe(self, item: Agent) -> str:
        return item.email

    async def form(self, item: Agent | None) -> tuple[list[FieldSpec], dict[str, Any]]:
        values: dict[str, Any] = {}
        if item is not None:
            names = {t.id: t.name for t in await self.tapp.store.teams()}
            values = {"email": item.email, "name": item.name, "role": item.role.value,
                      "seat": item.seat, "availability": item.availability.value,
                      "skills": ", ".join(item.skills),
                      "teams": ", ".join(names.get(t, "") for t in item.teams),
                      "working_hours": hours_spec(item.working_hours),
                      "os_user": item.os_user or "", "phone": item.phone or ""}
        else:
            values = {"role": "agent", "seat": True, "availability": "available"}
        return specs_from_model(AgentForm), values

    async def save(self, values: dict[str, Any], item: Agent | None) -> None:
        store = self.tapp.store
        teams = {t.name: t.id for t in await store.teams()}
        unknown = [t for t in split(values["teams"]) if t not in teams]
        if unknown:
            raise SettingError("teams", f"no team named {unknown[0]!r}")
        try:
            hours = parse_hours(values["working_hours"]) if values["working_hours"].strip() \
                else None
        except HoursError as exc:
            raise SettingError("working_hours", f"hours: {exc}") from None
        if not values["name"].strip():
            raise SettingError("name", "an agent needs a name")
        try:
            os_user = normalize_os_user(values.get("os_user"))
        except ValueError as exc:
            raise SettingError("os_user", str(exc)) from None
        if os_user is not None:
            holder = await store.agent_by_os_user(os_user)
            if holder is not None and (item is None or holder.id != item.id):
                raise SettingError("os_user", f"{os_user!r} already works as {holder.email}")
        phone = (values.get("phone") or "").strip() or None
        if phone is not None:
            from engine.phones import PhoneError, normalize_phone

            try:
                phone = normalize_phone(phone)
            except PhoneError as exc:
                raise SettingError("phone", f"{exc}; e.g. +14155550111") from None
        me = getattr(self.tapp.identity, "me", None)
        if item is not None and me is not None and item.id == me.id and os_user != me.os_user:
            raise SettingError("os_user", "that would lock you out: another admin can change "
                               "your OS user")
        fields = {"name": values["name"].strip(), "role": values["role"], "seat": values["seat"],
                  "availability": values["availability"], "skills": split(values["skills"]),
                  "teams": [teams[t] for t in split(values["teams"])], "working_hours": hours,
                  "os_user": os_user, "phone": phone}
        if item is None:
            try:
                agent = Agent(email=values["email"], **fields)
            except ValueError:
                raise SettingError("email", f"not a valid email address: {values['email']!r}") \
                    from None
            await store.add_agent(agent)
            return
        if values["email"].strip().lower() != item.email:
            raise SettingError("email", "an agent's email cannot change")
        if item.id == getattr(self.tapp.agent, "id", None) and values["role"] != "admin":
            raise SettingError("role", "you cannot remove your own admin role")
        await store.update_agent(item.email, **fields)
