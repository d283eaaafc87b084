"""The forms adapter on the in-memory host, its routes served through the front door's own
dispatcher and limits: a submission the store cannot take keeps what was typed (503, the form
again, sending it again works), a page sent twice is one message and no refusal, and the
counts reach the channel's health."""

from __future__ import annotations

import re
from typing import Any

import httpx

from engine.channels.forms import FormsAdapter
from engine.channels.testing import MemoryChannelHost
from engine.form_defs import parse_form
from engine.models import Channel, InboundMessage, IngestResult
from engine.web.app import MountDispatcher
from engine.web.limits import Limits, LimitsMiddleware

FORM = {"name": "Help", "slug": "help", "fields": [
    {"key": "email", "type": "email"}, {"key": "order", "label": "Order number"}]}
ANSWERS = {"email": "ana@customer.test", "order": "NW-1", "subject": "Late",
           "description": "Where is it?"}


class FlakyHost(MemoryChannelHost):
    """Fails the first ``failures`` ingests, as a store that is briefly unavailable would."""

    def __init__(self, failures: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.failures = failures

    async def ingest(self, msg: InboundMessage) -> IngestResult:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database is locked")
        return await super().ingest(msg)


def _client(adapter: FormsAdapter) -> httpx.AsyncClient:
    mounts = adapter.routes()
    limits = Limits()
    app = LimitsMiddleware(MountDispatcher(lambda: mounts, limits), limits, lambda: mounts)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f.test")


def _hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page))


async def test_a_submission_the_store_cannot_take_comes_back_as_typed() -> None:
    host = FlakyHost(1, forms=[parse_form(FORM)])
    adapter = FormsAdapter(Channel(id=1, kind="forms", name="Help",
                                   settings={"form": "help", "min_fill_seconds": 0}), host)
    async with _client(adapter) as client:
        hidden = _hidden((await client.get("/f/help")).text)
        failed = await client.post("/f/help", data={**hidden, **ANSWERS})
        assert failed.status_code == 503 and "could not save your message" in failed.text
        assert 'value="NW-1"' in failed.text and host.messages == []
        again = _hidden(failed.text)
        assert again["_token"].split(".")[0] == hidden["_token"].split(".")[0]  # same nonce
        ok = await client.post("/f/help", data={**again, **ANSWERS})
        twice = await client.post("/f/help", data={**again, **ANSWERS})
    assert ok.status_code == twice.status_code == 200
    assert len(host.messages) == 1 and host.results[-1].duplicate
    await adapter.flush_counts()
    assert host.health_now["accepted"] == 1 and host.health_now["duplicates"] == 1
    assert host.health_now["failed"] == 1
    assert host.health_now["rejected"] == {} and host.health_now["rejected_total"] == 0
    assert host.saved_state["form_counts"] == {"failed": 1, "accepted": 1, "duplicate": 1}


async def test_the_email_field_is_always_required() -> None:
    form = parse_form({**FORM, "fields": [{"key": "email", "type": "email",
                                           "required": False}]})
    assert form.email_field().required
    host = MemoryChannelHost(forms=[form])
    adapter = FormsAdapter(Channel(id=1, kind="forms", name="Help",
                                   settings={"form": "help", "min_fill_seconds": 0}), host)
    async with _client(adapter) as client:
        hidden = _hidden((await client.get("/f/help")).text)
        answer = await client.post("/f/help", data={**hidden, **ANSWERS, "email": ""})
    assert answer.status_code == 422 and 'id="f-email-err"' in answer.text
    assert host.messages == []
