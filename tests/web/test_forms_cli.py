"""``ticketty forms …``, ``channels add forms``, ``contacts show`` and ``import forms``: the
real console script on a real database; bad input gets one line naming the field and a
non-zero exit, and nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.procs import run

FORM = """\
name = "Contact us"
slug = "contact"
thank_you = "Thanks, we will be in touch."
[ticket]
priority = "high"
[[fields]]
key = "email"
label = "Your email"
type = "email"
required = true
[[fields]]
key = "topic"
type = "select"
options = ["Billing", "Orders"]
[[fields]]
key = "campaign"
type = "hidden"
from_query = "campaign"
"""


def ok(db: Path, *args: str):  # parsed JSON
    return json.loads(run(db, *args, "--json").stdout)


def fails(db: Path, *args: str) -> str:
    proc = run(db, *args, check=False)
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_forms_add_list_show_edit_remove(db_path: Path, tmp_path: Path) -> None:
    toml = tmp_path / "form.toml"
    toml.write_text(FORM)
    added = ok(db_path, "forms", "add", "--from", str(toml))
    assert added["slug"] == "contact" and added["form_url"].endswith("/f/contact")
    assert [f["key"] for f in added["all_fields"]] == [
        "email", "topic", "campaign", "subject", "description", "priority"]
    assert "again" not in fails(db_path, "forms", "add", "--from", str(toml))
    assert ok(db_path, "forms", "list") == [{
        "slug": "contact", "name": "Contact us", "fields": 6, "submissions": 0,
        "channels": [], "updated_at": added and ok(db_path, "forms", "list")[0]["updated_at"]}]
    shown = run(db_path, "forms", "show", "contact").stdout
    assert "from ?campaign" in shown and "/f/contact/embed.js" in shown and "<iframe" in shown
    data = ok(db_path, "forms", "show", "contact")
    assert data["embed_code"] == f'<script src="{data["form_url"]}/embed.js" async></script>'

    toml.write_text(FORM.replace('"Contact us"', '"Write to us"'))
    assert ok(db_path, "forms", "edit", "contact", "--from", str(toml))["name"] == "Write to us"
    other = tmp_path / "other.toml"
    other.write_text(FORM.replace('slug = "contact"', 'slug = "other"'))
    assert fails(db_path, "forms", "edit", "contact", "--from", str(other)).endswith(
        "slug: the file says 'other' but this is form 'contact'; a form's slug is its address"
        " and does not change")

    assert fails(db_path, "channels", "add", "forms", "--name", "Web", "--set", "form=nope") \
        == "ticketty: error: form: no form with slug 'nope' (see `ticketty forms list`)"
    assert fails(db_path, "channels", "add", "forms", "--name", "Web", "--set", "form=contact",
                 "--set", "reply_channel=Mail") == \
        "ticketty: error: reply_channel: no channel named 'Mail'"
    ok(db_path, "channels", "add", "forms", "--name", "Web", "--set", "form=contact",
       "--set", "min_fill_seconds=5")
    assert "it cannot send replies" in fails(db_path, "channels", "edit", "Web", "--set",
                                             "reply_channel=Web")
    assert "is served by channel 'Web' already" in fails(
        db_path, "channels", "add", "forms", "--name", "Web 2", "--set", "form=contact")
    ok(db_path, "channels", "edit", "Web", "--set", "min_fill_seconds=4")  # itself: fine
    assert "used by channel 'Web'" in fails(db_path, "forms", "remove", "contact")
    assert ok(db_path, "forms", "list")[0]["channels"] == ["Web"]
    shown = ok(db_path, "channels", "show", "Web")
    assert shown["embed_code"].endswith('/f/contact/embed.js" async></script>')
    run(db_path, "channels", "remove", "Web", "--yes")
    assert ok(db_path, "forms", "remove", "contact") == {"removed": "contact"}
    assert "no form with slug 'contact'" in fails(db_path, "forms", "show", "contact")


def test_a_bad_definition_names_its_field(db_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    cases = {
        FORM.replace('options = ["Billing", "Orders"]\n', ""):
            "fields[1].options: a select field needs options",
        FORM.replace('type = "email"', 'type = "text"'):
            "fields: a form needs an email field (the contact)",
        FORM.replace('from_query = "campaign"', 'from_query = "c"\nvalue = "x"'):
            "fields[2]: a hidden field takes either value or from_query",
        FORM.replace('type = "select"', 'type = "dropdown"'): "fields[1].type: Input should be",
        FORM + "colour = 1\n": "fields[2].colour: unknown key",
        "name = [": "not valid TOML",
    }
    for text, want in cases.items():
        bad.write_text(text)
        line = fails(db_path, "forms", "add", "--from", str(bad))
        assert want in line and str(bad) in line, line
    assert ok(db_path, "forms", "list") == []
    assert "form: the slug of a form" in fails(db_path, "channels", "add", "forms", "--name",
                                               "W", "--set", "form=Not A Slug")


def test_import_forms_and_contacts_show(db_path: Path, tmp_path: Path) -> None:
    toml = tmp_path / "form.toml"
    toml.write_text(FORM)
    run(db_path, "forms", "add", "--from", str(toml))
    csv = tmp_path / "past.csv"
    csv.write_text("email,topic,campaign,subject,description,submitted_at,page_url\n"
                   "ana@customer.test,Orders,spring,Late parcel,It is late.,"
                   "2025-05-01T10:00:00Z,https://acme.test/contact\n"
                   "bo@customer.test,Billing,,Invoice,Where is it?,,\n")
    report = ok(db_path, "import", "forms", str(csv), "--form", "contact")
    assert report["created"] == 2 and report["read"] == 2
    again = ok(db_path, "import", "forms", str(csv), "--form", "contact")
    assert again["duplicates"] == 2 and again["created"] == 0

    data = ok(db_path, "contacts", "show", "ana@customer.test")
    kinds = [i["type"] for i in data["timeline"]]
    assert sorted(kinds) == ["form_submission", "ticket"]
    ticket = next(i for i in data["timeline"] if i["type"] == "ticket")
    assert ticket["status"] == "closed" and ticket["subject"] == "Late parcel"
    assert ticket["source"] == "import" and ticket["priority"] == "high"
    sub = next(i for i in data["timeline"] if i["type"] == "form_submission")
    assert sub["at"].startswith("2025-05-01T10:00") and sub["page_url"] == \
        "https://acme.test/contact"
    fields = {f["key"]: f for f in sub["fields"]}
    assert fields["campaign"]["value"] == "spring" and fields["campaign"]["hidden"] is True
    thread = ok(db_path, "tickets", "show", str(ticket["ticket_id"]))
    assert "spring" not in json.dumps(thread["messages"])
    text = run(db_path, "contacts", "show", "ana@customer.test").stdout
    assert "Campaign (hidden): spring" in text and "consent" not in text.split("timeline:")[1]
    assert "no contact with email" in fails(db_path, "contacts", "show", "nobody@x.test")

    bad = tmp_path / "bad.csv"
    bad.write_text("email,topic\nana@customer.test,Toys\n")
    assert fails(db_path, "import", "forms", str(bad), "--form", "contact") == \
        f"ticketty: error: {bad}:2: topic: Choose one of the options."
    bad.write_text("email,colour\nana@customer.test,red\n")
    assert "unknown column(s): colour" in fails(db_path, "import", "forms", str(bad),
                                                 "--form", "contact")
    assert "--form" in fails(db_path, "import", "forms", str(bad))
