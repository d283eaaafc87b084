"""How replies move tickets: send-as status, assign on reply, customer replies, undoing a close,
canned replies with placeholders, and the one subject rule — through Desk, the store and the CLI."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

from engine.desk import CloseUndo, Desk, fill_canned
from engine.ingest import ingest
from engine.models import Agent, Channel, InboundMessage, Pipeline, Status
from engine.store import StoreError

BIN = str(Path(sys.executable).parent / "ticketty")


async def _ticket(store, key: str = "m1", **kw) -> int:
    args = {"channel_id": None, "key": key, "sender": "jane@example.org",
            "sender_name": "Jane Doe", "subject": "Printer on fire", "text": "Help"}
    args.update(kw)
    return (await ingest(store, InboundMessage(**args))).ticket_id


async def _desk(store) -> Desk:
    return Desk(store, await store.agent("admin@example.com"))


async def test_reply_sets_the_status_after_a_reply_and_takes_the_ticket(store):
    desk = await _desk(store)
    tid = await _ticket(store)
    await desk.reply(tid, "On it")
    ticket = await store.ticket(tid)
    assert ticket.status == "pending" and ticket.assignee_email == "admin@example.com"
    texts = [m.text for m in await store.messages(tid) if m.direction == "system"]
    assert "status changed from new to pending" in texts
    assert any(t.startswith("assigned to Ada Admin") and "by replying" in t for t in texts)


async def test_reply_keeps_someone_elses_assignment_and_honours_send_as(store):
    await store.add_agent(Agent(email="bob@example.com", name="Bob"))
    desk = await _desk(store)
    tid = await _ticket(store)
    await desk.assign(tid, "bob@example.com")
    await desk.reply(tid, "Solved it", status="solved")
    ticket = await store.ticket(tid)
    assert ticket.status == "solved" and not ticket.is_open
    assert ticket.assignee_email == "bob@example.com"


async def test_a_bad_send_as_status_writes_nothing(store):
    desk = await _desk(store)
    tid = await _ticket(store)
    before = await store.messages(tid)
    with pytest.raises(StoreError, match="'bogus' is not in pipeline 'Support'"):
        await desk.reply(tid, "Hello", status="bogus")
    assert await store.messages(tid) == before


async def test_assign_on_reply_is_a_workspace_setting(store):
    assert (await store.workspace()).assign_on_reply is True
    await store.update_workspace(assign_on_reply=False)
    desk = await _desk(store)
    tid = await _ticket(store)
    await desk.reply(tid, "On it")
    assert (await store.ticket(tid)).assignee_email is None
    with pytest.raises(StoreError, match="no workspace setting 'bogus'"):
        await store.update_workspace(bogus=1)
    with pytest.raises(StoreError, match="assign_on_reply"):
        await store.update_workspace(assign_on_reply="maybe")


async def test_customer_writing_back_moves_the_ticket(store):
    desk = await _desk(store)
    tid = await _ticket(store)
    # a second mail before anybody answered: still new
    await _ticket(store, "m2", ticket_hint=tid, text="Anyone?")
    assert (await store.ticket(tid)).status == "new"
    await desk.reply(tid, "Try turning it off")
    assert (await store.ticket(tid)).status == "pending"
    result = await _write_back(store, "m3", tid)
    assert result.ticket_id == tid and not result.reopened
    assert (await store.ticket(tid)).status == "open"
    await desk.close(tid)
    result = await _write_back(store, "m4", tid)
    assert result.reopened and (await store.ticket(tid)).status == "open"


async def _write_back(store, key: str, tid: int):
    return await ingest(store, InboundMessage(channel_id=None, key=key, sender="jane@example.org",
                                              subject="Re: x", text="again", ticket_hint=tid))


async def test_pipeline_reply_settings_and_their_defaults(store):
    plain = Pipeline(name="Sales", statuses=[Status(name="lead"), Status(name="talking"),
                                             Status(name="won", closed=True)])
    assert plain.reply_status() is None and plain.customer_status() == "lead"
    await store.add_pipeline(plain)
    sales = await store.update_pipeline("Sales", after_reply="talking", on_customer_reply="talking")
    assert (sales.reply_status(), sales.customer_status()) == ("talking", "talking")
    reloaded = next(p for p in await store.pipelines() if p.name == "Sales")
    assert (reloaded.after_reply, reloaded.on_customer_reply) == ("talking", "talking")
    with pytest.raises(StoreError, match="status after a reply 'nope'"):
        await store.update_pipeline("Sales", after_reply="nope")
    with pytest.raises(StoreError, match="must be an open status"):
        await store.update_pipeline("Sales", on_customer_reply="won")
    with pytest.raises(StoreError, match="status after a reply 'talking'"):
        await store.set_pipeline_statuses("Sales", [Status(name="lead"),
                                                    Status(name="won", closed=True)])
    back = await store.update_pipeline("Sales", after_reply=None)
    assert back.after_reply is None and back.reply_status() is None
    support = next(p for p in await store.pipelines() if p.name == "Support")
    assert (support.reply_status(), support.customer_status()) == ("pending", "open")

    desk = await _desk(store)
    tid = await _ticket(store)
    await desk.set_pipeline(tid, "Sales")
    await desk.reply(tid, "Thanks for your interest")
    assert (await store.ticket(tid)).status == "lead"  # no setting, no waiting status: unchanged


async def test_close_with_undo_and_its_limits(store):
    desk = await _desk(store)
    tid = await _ticket(store)
    await desk.set_status(tid, "on_hold")
    undo = await desk.close_with_undo(tid)
    assert undo == CloseUndo(tid, "on_hold", "closed")
    assert await desk.close_with_undo(tid) is None  # already closed: nothing to undo
    await desk.undo_close(undo)
    assert (await store.ticket(tid)).status == "on_hold"
    undo = await desk.close_with_undo(tid)
    await desk.set_status(tid, "solved")
    with pytest.raises(StoreError, match="changed since it was closed"):
        await desk.undo_close(undo)
    assert (await store.ticket(tid)).status == "solved"


def test_fill_canned_placeholders():
    text = "Hi {first_name}! ({full_name}) — {agent_name}, ticket {ticket_id}. {unknown} {x"
    assert fill_canned(text, customer_name="Jane  Doe", customer_email="j@x.org",
                       agent_name="Ada Admin", ticket_id=7) == \
        "Hi Jane! (Jane Doe) — Ada Admin, ticket 7. {unknown} {x"
    assert fill_canned("Hi {first_name}", customer_name="", customer_email="li.wei@x.cn",
                       agent_name="A", ticket_id=1) == "Hi li.wei"


async def test_canned_reply_for_a_ticket(store):
    desk = await _desk(store)
    tid = await _ticket(store)
    canned = await store.add_canned("Hello", "Hi {first_name}, I am {agent_name} (#{ticket_id}).")
    assert await desk.canned_reply(tid, canned.id) == f"Hi Jane, I am Ada Admin (#{tid})."
    with pytest.raises(StoreError, match="no canned reply"):
        await desk.canned_reply(tid, 999)


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=60)


async def test_cli_reply_to_a_mail_without_message_id_says_re_and_sends_as(store, db_path,
                                                                           smtp_sink):
    sink, port = smtp_sink
    channel = await store.add_channel(Channel(kind="email", name="support", settings={
        "address": "help@acme.test", "mode": "forwarding", "smtp_host": "127.0.0.1",
        "smtp_port": port, "smtp_security": "none"}))
    # imported mail without a Message-ID: the key is ours, not an RFC 5322 id
    tid = await _ticket(store, "import:no-message-id", channel_id=channel.id,
                        subject="Where is my parcel?")
    proc = _cli(db_path, "--as", "admin@example.com", "tickets", "reply", str(tid),
                "--body", "It left today.", "--status", "on_hold", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["state"] == "sent"
    assert sink.received.wait(5)
    sent = email.message_from_bytes(sink.messages[-1][2], policy=policy.default)
    assert sent["Subject"] == f"Re: Where is my parcel? [#{tid}]"
    assert sent["In-Reply-To"] is None
    shown = json.loads(_cli(db_path, "tickets", "show", str(tid), "--json").stdout)
    assert shown["status"] == "on_hold" and shown["assignee"] == "admin@example.com"
    bad = _cli(db_path, "--as", "admin@example.com", "tickets", "reply", str(tid),
               "--body", "x", "--status", "bogus")
    assert bad.returncode != 0 and "'bogus' is not in pipeline 'Support'" in bad.stderr


def test_cli_pipeline_reply_statuses_and_workspace_setting(db_path):
    def ok(*args: str) -> subprocess.CompletedProcess:
        proc = _cli(db_path, *args)
        assert proc.returncode == 0, proc.stderr
        return proc

    listed = json.loads(ok("pipelines", "list", "--json").stdout)
    support = next(p for p in listed if p["name"] == "Support")
    assert (support["status_after_reply"], support["status_on_customer_reply"]) == ("pending", "open")
    shown = ok("pipelines", "edit", "Support", "--after-reply", "on_hold",
               "--on-customer-reply", "new").stdout
    assert "after a reply: on_hold;" in shown and "customer writes back: new" in shown
    edited = json.loads(ok("pipelines", "list", "--json").stdout)[0]
    assert (edited["after_reply"], edited["on_customer_reply"]) == ("on_hold", "new")
    assert [s["name"] for s in edited["statuses"]][:2] == ["new", "open"]  # statuses kept
    back = json.loads(ok("pipelines", "edit", "Support", "--after-reply", "default",
                         "--json").stdout)
    assert back["after_reply"] is None and back["status_after_reply"] == "pending"
    bad = _cli(db_path, "pipelines", "edit", "Support", "--on-customer-reply", "closed")
    assert bad.returncode != 0 and "must be an open status" in bad.stderr
    assert _cli(db_path, "pipelines", "edit", "Support").returncode != 0

    assert json.loads(ok("workspace", "show", "--json").stdout) == {"assign_on_reply": True}
    assert "assign_on_reply" in ok("workspace", "show").stdout
    assert ok("workspace", "set", "assign_on_reply", "off").stdout.strip() == \
        "assign_on_reply = false"
    bad = _cli(db_path, "workspace", "set", "nope", "1")
    assert bad.returncode != 0 and "no workspace setting 'nope'" in bad.stderr
