"""``ticketty channels add messenger|whatsapp --set …`` (no network call), ``channels show``
with the webhook URL, ``channels sync``, and ``contacts merge A B``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.models import InboundMessage
from engine.sandbox.graph import GraphStandIn
from engine.store import Store
from tests.helpers.cli import run_cli


async def _ok(db: Path, *args: str) -> dict:
    """The command's JSON; run on a thread so the Graph stand-in in this loop can answer."""
    done = await asyncio.to_thread(run_cli, db, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_add_show_and_sync_a_messenger_channel(db_path: Path) -> None:
    async with GraphStandIn() as graph:
        graph.add_page("1111", "Acme Shoes", "page-Token-1")
        # nothing listens on the default graph URL in tests: adding must not call it
        added = await _ok(db_path, "channels", "add", "messenger", "--name", "fb",
                    "--set", "page_id=1111", "--set", "page_access_token=page-Token-1",
                    "--set", "app_secret=app-Secret-1", "--set", "gdpr=explicit",
                    "--set", "greeting=Hello!", "--set", "instant_reply=Thanks!",
                    "--set", "consent_text=We keep this.")
        assert added["kind"] == "messenger" and graph.requests == []
        tested = await _ok(db_path, "channels", "add", "messenger", "--name", "fb2", "--test",
                           "--set", "page_id=1111", "--set", "page_access_token=page-Token-1",
                           "--set", "app_secret=app-Secret-1", "--set", "greeting=Now!",
                           "--set", f"graph_base_url={graph.base_url}")
        assert tested["name"] == "fb2" and graph.greetings["1111"]["greeting"][0]["text"] == "Now!"
        graph.expired.add("page-Token-1")
        refused = await asyncio.to_thread(run_cli, db_path, "channels", "add", "messenger",
                                          "--name", "fb3", "--test", "--set", "page_id=1111",
                                          "--set", "page_access_token=page-Token-1",
                                          "--set", f"graph_base_url={graph.base_url}")
        assert refused.returncode == 1
        assert "token expired — reconnect the page" in refused.stderr
        graph.expired.clear()
        shown = await _ok(db_path, "channels", "show", "fb")
        assert shown["webhook_url"].endswith(f"/messenger/{added['id']}/webhook")
        assert shown["settings"]["verify_token"] != ""  # generated, shown masked
        bad = await asyncio.to_thread(run_cli, db_path, "channels", "add", "messenger",
                                      "--name", "x", "--set", "page_id=1",
                                      "--set", "gdpr=sometimes")
        assert bad.returncode != 0 and "gdpr" in bad.stderr
        await _ok(db_path, "channels", "edit", "fb", "--set", f"graph_base_url={graph.base_url}")
        synced = await _ok(db_path, "channels", "sync", "fb")
        assert synced["greeting"] is True
        assert graph.greetings["1111"]["greeting"][0]["text"] == "Hello!"


async def test_add_a_whatsapp_channel_and_sync_its_templates(db_path: Path) -> None:
    async with GraphStandIn() as graph:
        graph.add_number("PNID_1", "15550001111", "Acme", "wa-Token-1", "WABA_1")
        graph.templates["WABA_1"] = [{"name": "ticket_update", "language": "en_US",
                                      "status": "APPROVED", "components": [
                                          {"type": "BODY", "text": "Ticket {{1}} updated"}]}]
        await _ok(db_path, "channels", "add", "whatsapp", "--name", "wa",
            "--set", "phone_number_id=PNID_1", "--set", "waba_id=WABA_1",
            "--set", "access_token=wa-Token-1", "--set", "app_secret=s",
            "--set", f"graph_base_url={graph.base_url}")
        assert (await _ok(db_path, "channels", "sync", "wa"))["templates"] == 1
        assert (await _ok(db_path, "channels", "test", "wa"))["ok"] is True
    async with Store(db_path) as store:
        channel = await store.channel("wa")
        assert channel.health["template_list"] == [
            {"name": "ticket_update", "language": "en_US", "text": "Ticket {{1}} updated",
             "params": 1}]


async def test_contacts_merge_joins_two_psids_and_their_tickets(db_path: Path) -> None:
    async with Store(db_path) as store:
        from engine.desk import ensure_first_admin

        await ensure_first_admin(store, "admin@example.com", "Ada Admin")
        for key, psid in (("m1", "PSID-A"), ("m2", "PSID-B")):
            await store.ingest(InboundMessage(channel_id=None, key=key, sender_kind="psid",
                                              sender=psid, sender_name="Ana", text="hi"))
        await store.record_consent(None, "psid", "PSID-B", "explicit", "We keep this.")
        a = await store.contact_id_by_identity("psid", "PSID-A")
        b = await store.contact_id_by_identity("psid", "PSID-B")
    merged = await _ok(db_path, "contacts", "merge", "psid:PSID-A", "psid:PSID-B")
    assert (merged["contact_id"], merged["merged"]) == (a, b)
    async with Store(db_path) as store:
        assert await store.contact(b) is None
        assert await store.contact_id_by_identity("psid", "PSID-B") == a
        assert [r.kind for r in await store.consent_records(a)] == ["explicit"]
        assert {(await store.ticket(i)).contact_id for i in (1, 2)} == {a}
    again = run_cli(db_path, "contacts", "merge", "psid:PSID-A", "psid:PSID-B")
    assert again.returncode != 0 and "already the same contact" in again.stderr
    missing = run_cli(db_path, "contacts", "merge", "psid:PSID-A", "psid:nobody")
    assert missing.returncode != 0 and "no contact 'psid:nobody'" in missing.stderr


async def test_a_merged_contact_keeps_the_form_submissions_and_shows_the_consent(
        db_path: Path) -> None:
    """``contacts merge`` moves form submissions too (they used to go with the deleted
    contact), and ``contacts show`` lists the consent given on Messenger."""
    async with Store(db_path) as store:
        from engine.desk import ensure_first_admin

        await ensure_first_admin(store, "admin@example.com", "Ada Admin")
        await store.ingest(InboundMessage(channel_id=None, key="m1", sender_kind="psid",
                                          sender="PSID-A", sender_name="Ana", text="hi"))
        await store.ingest(InboundMessage(
            channel_id=None, key="f1", sender_kind="email", sender="ana@example.com",
            sender_name="Ana", subject="Order 7", text="Your email: ana@example.com",
            extra={"form_submission": {"form": "contact", "page_url": "https://x.test/?c=1",
                                       "fields": [{"key": "campaign", "label": "campaign",
                                                   "type": "hidden", "value": "autumn",
                                                   "hidden": True}]}}))
        await store.record_consent(None, "psid", "PSID-A", "explicit", "We keep this.")
        keep = await store.contact_id_by_identity("psid", "PSID-A")
        other = await store.contact_id_by_identity("email", "ana@example.com")
        await store.merge_contacts(keep, other)  # the form's contact goes into Messenger's
        timeline = (await store.contact_timeline("ana@example.com"))["timeline"]
    kinds = sorted(item["type"] for item in timeline)
    assert kinds == ["consent", "form_submission", "ticket", "ticket"]
    (consent,) = [i for i in timeline if i["type"] == "consent"]
    assert consent["kind"] == "explicit" and consent["identity"] == "psid:PSID-A"
    (submission,) = [i for i in timeline if i["type"] == "form_submission"]
    assert submission["fields"][0]["value"] == "autumn"
