"""Pipelines and their statuses: add a pipeline, add/reorder statuses (``:pipelines``)."""

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


class PipelinesScreen(AdminListScreen):
    HELP_TITLE = "pipelines"
    TITLE = "Pipelines and statuses"
    NOUN = "pipeline"
    COLUMNS = ["Pipeline", "Statuses"]

    async def load(self) -> tuple[list[Any], list[list[Any]]]:
        pipes = await self.tapp.store.pipelines()
        return pipes, [[p.name, " → ".join(s.name + (" (closed)" if s.closed else "")
                                          for s in p.statuses)] for p in pipes]

    def describe(self, item: Pipeline) -> str:
        return item.name

    async def form(self, item: Pipeline | None) -> tuple[list[FieldSpec], dict[str, Any]]:
        if item is None:
            return specs_from_model(PipelineForm), {"open": "new, open, pending",
                                                     "closed": "solved, closed"}
        return specs_from_model(PipelineForm), {
            "name": item.name,
            "open": ", ".join(s.name for s in item.statuses if not s.closed),
            "closed": ", ".join(s.name for s in item.statuses if s.closed)}

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
        if item is None:
            await self.tapp.store.add_pipeline(Pipeline(name=name, statuses=statuses))
            return
        if name != item.name:
            raise SettingError("name", "a pipeline's name cannot change")
        await self.tapp.store.set_pipeline_statuses(item.name, statuses)
