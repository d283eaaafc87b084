"""One binding id scheme, ``<area>.<action>``: every binding has an id in it, docs/keys.md
names each one, and configs with the ids of earlier versions keep working."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding

import tui
from engine.config import Config
from tests.helpers.tui import make_app, ready, settle, widget_text
from tui.keymap import RENAMED, upgrade

AREAS = ("app", "queue", "ticket", "thread", "composer", "command_line", "picker", "help",
         "confirm", "channels", "channel_edit", "wizard", "signin", "admin", "form",
         "quarantine", "quarantine_item", "contact", "who")
KEYS_MD = Path(__file__).resolve().parents[2] / "docs" / "keys.md"


def bindings() -> dict[str, Binding]:
    """Every Binding a tui class declares, by id (one id may serve two screens)."""
    found: dict[str, Binding] = {}
    for info in pkgutil.walk_packages(tui.__path__, "tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for b in cls.__dict__.get("BINDINGS", []):
                assert isinstance(b, Binding) and b.id, f"{cls.__name__}: {b!r} has no id"
                if b.id in found:  # the same id is the same binding (defined once)
                    assert found[b.id] is b, f"{b.id} is defined twice"
                found[b.id] = b
    return found


def test_every_binding_has_an_id_in_the_scheme():
    ids = bindings()
    assert len(ids) > 60
    bad = [i for i in ids if not re.fullmatch(rf"({'|'.join(AREAS)})\.[a-z0-9_]+", i)]
    assert bad == []
    for kept in ("app.quit", "queue.search", "ticket.reply", "composer.send_as",
                 "ticket.details", "wizard.page_down", "wizard.page_up"):
        assert kept in ids


def test_docs_name_every_binding_id():
    text = KEYS_MD.read_text(encoding="utf-8")
    missing = [i for i in bindings()
               if f"`{i}`" not in text and not re.fullmatch(r"queue\.view_[2-8]", i)]
    assert missing == []
    assert "`queue.view_1` … `queue.view_9`" in text
    for old, new in RENAMED.items():  # the table of renamed ids
        if re.fullmatch(r"view\.[2-8]", old):
            continue  # `view.1` … `view.9`
        assert f"| `{old}` | `{new}` |" in text or old == "view.1" or old == "view.9"
    assert "| `view.1` … `view.9` | `queue.view_1` … `queue.view_9` |" in text


def test_renamed_ids_name_bindings_that_exist():
    assert set(RENAMED.values()) <= set(bindings())
    assert not set(RENAMED) & set(bindings())


def test_old_ids_in_a_keymap_mean_their_new_names():
    assert upgrade({"reply": "e", "queue.search": "f", "assign.me": "W"}) == {
        "ticket.reply": "e", "queue.search": "f", "ticket.take": "W"}
    # both spellings given: the new id wins
    assert upgrade({"close": "x", "ticket.close": "y"}) == {"ticket.close": "y"}


async def test_one_id_remaps_the_key_on_the_queue_and_the_ticket(seeded):
    """``ticket.assign`` is the queue's and the ticket screen's ``a``: one entry moves both;
    an old id (``cursor.down``) still works."""
    from tui.screens.picker import PickerScreen

    db, ids = seeded
    app = make_app(db, config=Config(keymap={"ticket.assign": "w", "cursor.down": "J"}))
    async with app.run_test(size=(130, 36)) as pilot:
        await ready(pilot)
        queue = app.screen
        table = queue.table
        await pilot.press("J")
        await settle(pilot)
        assert table.cursor == 1
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("escape")
        await settle(pilot)
        app.open_ticket(ids["t1"])
        await ready(pilot)
        assert "w  Assignee" in widget_text(app.screen.query_one("#properties"))
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
