"""Pipelines and their statuses: add a pipeline, add/reorder statuses, and choose what replies
do to a ticket — the status after an agent reply and when the customer writes back
(``:pipelines``; the CLI's ``ticketty pipelines edit --after-reply/--on-customer-reply``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.channels.setup import SettingError
from engine.models import Pipeline, Status
from tui.screens.admin.agents import split
from tui.screens.admin.base import AdminListScreen
from tui.widgets.settings_form import FieldSpec, specs_from_model


class PipelineForm(BaseModel):
    name: str = Field(description="The pipeline's name (cannot change later).")
    open: str = Field(description="Open statuses in order, comma-separated (new, open, …).")
    closed: str = Field(description="Closed statuses in order, comma-separated (solved, …).")
    after_reply: str = Field("", description="Status after an agent reply (agents can change "
                             "it before sending). Empty: pending or waiting, if there is one.")
    on_customer_reply: str = Field("", description="Status when the customer writes back; an "
                                   "open one. Empty: open.")


LABELS = {"after_reply": "Status after an agent reply",
          "on_customer_reply": "Status when the customer writes back"}


def replies_column(p: Pipeline) -> str:
    """``reply → pending · customer → open`` (defaults marked)."""
    after = p.reply_status() or "unchanged"
    return (f"reply → {after}{'' if p.after_reply else ' (default)'} · customer → "
            f"{p.customer_status()}{'' if p.on_customer_reply else ' (default)'}")


class PipelinesScreen(AdminListScreen):
    HELP_TITLE = "pipelines"
    TITLE = "Pipelines and statuses"
    NOUN = "pipeline"
    COLUMNS = ["Pipeline", "Statuses", "Replies"]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        pipes = await self.tapp.store.pipelines()
        return pipes, [[p.name, " → ".join(s.name + (" (closed)" if s.closed else "")
                                          for s in p.statuses), replies_column(p)]
                       for p in pipes]

    def describe(self, item: Pipeline) -> str:
        return item.name

    async def form(self, item: Pipeline | None) -> tuple[list[FieldSpec], dict[str, Any]]:
        specs = specs_from_model(PipelineForm, labels=LABELS)
        if item is None:
            return specs, {"open": "new, open, pending", "closed": "solved, closed"}
        return specs, {
            "name": item.name,
            "open": ", ".join(s.name for s in item.statuses if not s.closed),
            "closed": ", ".join(s.name for s in item.statuses if s.closed),
            "after_reply": item.after_reply or "", "on_customer_reply": item.on_customer_reply or ""}

    async def save(self, values: dict[str, Any], item: Pipeline | None) -> None:
        name = values["name"].strip()
        if not name:
            raise SettingError("name", "a pipeline needs a name")
        opened, closed = split(values["open"]), split(values["closed"])
        if not opened:
            raise SettingError("open", "at least one open status")
        if not closed:
            raise SettingError("closed", "at least one closed status")
        statuses = [Status(name=s) for s in opened] + [Status(name=s, closed=True) for s in closed]
        after = str(values.get("after_reply") or "").strip() or None
        customer = str(values.get("on_customer_reply") or "").strip() or None
        if item is not None and name != item.name:
            raise SettingError("name", "a pipeline's name cannot change")
        for key, value in (("after_reply", after), ("on_customer_reply", customer)):
            try:  # each setting checked alone, so its error goes beside its field
                Pipeline(name=name, statuses=statuses, **{key: value}).check_reply_statuses()
            except ValueError as exc:
                raise SettingError(key, str(exc)) from None
        if item is None:
            await self.tapp.store.add_pipeline(Pipeline(
                name=name, statuses=statuses, after_reply=after, on_customer_reply=customer))
        else:
            await self.tapp.store.update_pipeline(item.name, statuses=statuses,
                                                   after_reply=after, on_customer_reply=customer)
