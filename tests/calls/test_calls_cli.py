"""The calling channel from the shell: ``channels add calls --set …`` (no network without
``--test``), ``channels show --json`` with its two URLs from ``public_url``, ``agents … --phone``
and ``tickets call``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.procs import query, run

SETS = ["--set", "account_sid=AC0123", "--set", "auth_token=tok-secret",
        "--set", "phone_number=+1 415 555 0100"]


def ok(db: Path, *args: str):  # parsed JSON
    return json.loads(run(db, *args, "--json").stdout)


def test_add_show_and_agents_phones(db_path: Path, tmp_path: Path) -> None:
    run(db_path, "agents", "list")  # the first run makes this OS user the admin
    added = run(db_path, "channels", "add", "calls", "--name", "Phones", *SETS,
                "--set", "api_base_url=http://127.0.0.1:9/", "--set", "ring_strategy=in_turn")
    assert added.returncode == 0, added.stderr
    config = tmp_path / "c.toml"
    config.write_text('[engine]\npublic_url = "https://desk.example.com"\n')
    shown = ok(db_path, "--config", str(config), "channels", "show", "Phones")
    links = shown["public_links"] if "public_links" in shown else shown
    cid = shown.get("id")
    assert links["webhook_url"] == f"https://desk.example.com/calls/{cid}/voice"
    assert links["status_callback_url"] == f"https://desk.example.com/calls/{cid}/status"
    assert "tok-secret" not in json.dumps(shown)
    assert shown["settings"]["phone_number"] == "+14155550100"
    assert shown["settings"]["api_base_url"] == "http://127.0.0.1:9"
    bad = run(db_path, "channels", "add", "calls", "--name", "Bad", *SETS[:4],
              "--set", "phone_number=12", check=False)
    assert bad.returncode != 0 and "phone_number" in bad.stderr
    wrong = run(db_path, "channels", "add", "calls", "--name", "Bad2", *SETS,
                "--set", "ring_strategy=random", check=False)
    assert wrong.returncode != 0 and "ring_strategy" in wrong.stderr

    made = ok(db_path, "agents", "add", "--email", "ada@example.com", "--name", "Ada",
              "--phone", "+44 20 7946 0958")
    assert made["phone"] == "+442079460958"
    assert ok(db_path, "agents", "update", "ada@example.com", "--phone", "none")["phone"] is None
    nope = run(db_path, "agents", "update", "ada@example.com", "--phone", "call me", check=False)
    assert nope.returncode != 0 and "--phone" in nope.stderr
    assert query(db_path, "SELECT phone FROM agents WHERE email='ada@example.com'") == [(None,)]


async def test_tickets_call_queues_a_call_back(db_path: Path) -> None:
    from engine.models import InboundMessage
    from engine.store import Store

    run(db_path, "agents", "list")
    me = ok(db_path, "agents", "list")[0]["email"]
    run(db_path, "channels", "add", "calls", "--name", "Phones", *SETS)
    made = ok(db_path, "tickets", "create", "--subject", "Hi", "--from", "ann@customer.test")
    async with Store(db_path) as store:
        channel = await store.channel("Phones")
        called = await store.ingest(InboundMessage(
            channel_id=channel.id, key="CA1", sender_kind="phone", sender="+14155550199",
            subject="Call from +14155550199", text="Inbound call"))
    no_phone = run(db_path, "tickets", "call", str(called.ticket_id), check=False)
    assert no_phone.returncode != 0 and "has no phone number to ring first" in no_phone.stderr
    run(db_path, "agents", "update", me, "--phone", "+14155550111")
    refused = run(db_path, "tickets", "call", str(made["id"]), check=False)
    assert refused.returncode != 0 and "no phone number to call back" in refused.stderr
    queued = ok(db_path, "tickets", "call", str(called.ticket_id))
    assert (queued["to"], queued["from"], queued["agent_phone"], queued["status"]) == (
        "+14155550199", "+14155550100", "+14155550111", "queued")
    assert query(db_path, "SELECT kind, state FROM outbox WHERE ticket_id=?",
                 (called.ticket_id,)) == [("call", "queued")]
