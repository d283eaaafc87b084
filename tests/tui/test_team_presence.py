"""Two TUIs on one database (two Pilot apps, two stores — two "processes" as far as the
store can tell): presence appears and disappears, the collision hold fires and releases."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual._context import active_app

from engine.models import Direction, InboundMessage
from tests.helpers.tui import make_app, ready, settle, type_text, widget_text
from tui.screens.ticket import TicketScreen

SIZE = (130, 36)


async def until(pilots: list[Any], check: Callable[[], bool], limit: float = 5.0) -> float:
    """Pump both apps until ``check()`` holds; the seconds it took (fails after ``limit``)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit:
            raise AssertionError("condition not met in time")
        for pilot in pilots:
            await pilot.pause(0.02)
    return time.monotonic() - started


class Desk2:
    """Two Pilots in one test: Textual finds "the app" through a context variable that the
    last ``run_test`` set, so every key and typed text first points it at its own app."""

    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot

    def _here(self) -> None:
        active_app.set(self.pilot.app)

    def open(self, ticket_id: int) -> None:
        self._here()  # the screen's message pump copies the context it is created in
        self.pilot.app.open_ticket(ticket_id)

    async def press(self, *keys: str) -> None:
        self._here()
        await self.pilot.press(*keys)

    async def type(self, text: str) -> None:
        self._here()
        await type_text(self.pilot, text)

    async def settle(self) -> None:
        self._here()
        await settle(self.pilot)

    async def ready(self) -> None:
        self._here()
        await ready(self.pilot)

    async def pause(self, delay: float) -> None:
        self._here()
        await self.pilot.pause(delay)


def title(app: Any) -> str:
    return widget_text(app.screen.query_one("#ticket-title"))


async def test_presence_appears_on_the_ticket_the_queue_and_the_status_bar_and_goes(seeded):
    db, ids = seeded
    ada, bob = make_app(db), make_app(db, agent_email="bob@example.com")
    async with ada.run_test(size=SIZE) as pilot_a, bob.run_test(size=SIZE) as pilot_b:
        pa, pb = Desk2(pilot_a), Desk2(pilot_b)
        await pa.ready()
        await pb.ready()
        first = ada.screen.table.current_ticket.id
        await until([pa, pb], lambda: "online: Bob Builder" in widget_text(
            ada.screen.query_one("StatusBar")))
        await pa.press("enter")
        await pa.settle()
        await pb.press("enter")
        await pb.settle()
        assert isinstance(bob.screen, TicketScreen) and bob.screen.ticket_id == first
        await until([pa, pb], lambda: "Ada Admin is viewing" in title(bob))
        await until([pa, pb], lambda: "Bob Builder is viewing" in title(ada))
        await pb.press("r")
        await until([pa, pb], lambda: "Bob Builder is replying…" in title(ada))
        # bob goes back to the queue: ada's header clears, bob's queue marks ada's ticket
        await pb.press("escape", "escape")
        await until([pa, pb], lambda: "Bob Builder" not in title(ada))
        await until([pa, pb], lambda: bob.screen.table.open_by.get(first) == "Ada Admin")
        row = widget_text(bob.screen.table).splitlines()[1]
        assert row.startswith("●A") or row.startswith(" A"), row
    # bob quit cleanly: ada sees nobody (the test's second app is gone too)


async def test_a_crashed_tui_drops_out_within_a_few_seconds(seeded):
    db, ids = seeded
    from engine.store import Store

    ada = make_app(db)
    async with ada.run_test(size=SIZE) as pilot_a:
        pa = Desk2(pilot_a)
        await pa.ready()
        async with Store(db) as other:  # a session that "crashes": heartbeats, then silence
            bob = await other.agent("bob@example.com")
            await other.publish_presence("crashed-session", bob.id, ids["t3"], "viewing")
            await until([pa], lambda: any(p.session == "crashed-session" for p in ada.others()))
            went = await until([pa], lambda: not ada.others(), limit=8)
        assert went < 7, f"a dead session stayed {went:.1f} s"


async def test_collision_hold_fires_on_a_customer_message_and_releases(seeded):
    db, ids = seeded
    ada, bob = make_app(db), make_app(db, agent_email="bob@example.com")
    tid = ids["t2"]
    async with ada.run_test(size=SIZE) as pilot_a, bob.run_test(size=SIZE) as pilot_b:
        pa, pb = Desk2(pilot_a), Desk2(pilot_b)
        await pa.ready()
        await pb.ready()
        pa.open(tid)
        pb.open(tid)
        await pa.settle()
        await pb.settle()
        await pa.press("r")
        await pb.press("r")
        await pb.type("Bob's answer")
        await pb.press("ctrl+s")  # nothing changed yet: it goes out
        await pb.settle()
        await pa.type("Ada's answer")
        await pa.press("ctrl+s")  # bob replied meanwhile: held
        await pa.settle()
        composer = ada.screen.composer
        assert composer.held and composer.display
        held = widget_text(composer.query_one("#composer-held"))
        assert "Bob Builder replied: “Bob's answer”" in held and "again sends anyway" in held
        outbound = [m.text for m in await ada.store.messages(tid) if m.direction == Direction.outbound]
        assert "Ada's answer" not in outbound
        # a customer writes while she looks: the next send is held again, naming it
        from engine.ingest import ingest
        ticket = await ada.store.ticket(tid)
        await ingest(bob.store, InboundMessage(
            channel_id=ids["channel"], key="collision-1", sender=ticket.contact_email,
            sender_name="Omar Haddad", subject="Re", ticket_hint=tid, text="Any news?"))
        await pa.press("ctrl+s")
        await pa.settle()
        assert "Omar Haddad wrote: “Any news?”" in widget_text(composer.query_one("#composer-held"))
        await pa.press("ctrl+s")  # seen: the same key again sends
        await pa.settle()
        outbound = [m.text for m in await ada.store.messages(tid) if m.direction == Direction.outbound]
        assert outbound.count("Ada's answer") == 1 and not composer.display


async def test_two_agents_take_one_ticket_at_once_one_wins_the_other_is_told(seeded):
    db, ids = seeded
    ada, bob = make_app(db), make_app(db, agent_email="bob@example.com")
    tid = ids["t3"]  # nobody has it (t0 is Bob's in the seed)
    async with ada.run_test(size=SIZE) as pilot_a, bob.run_test(size=SIZE) as pilot_b:
        pa, pb = Desk2(pilot_a), Desk2(pilot_b)
        await pa.ready()
        await pb.ready()
        pa.open(tid)
        pb.open(tid)
        await pa.settle()
        await pb.settle()
        assert ada.screen.ctx.ticket.assignee_id is None
        # the same moment: both screens still show nobody when each agent takes it
        for desk in (pa, pb):
            desk._here()
            desk.pilot.app.screen.action_take()  # what ``A`` runs
        await pa.settle()
        await pb.settle()
        ticket = await ada.store.ticket(tid)
        told = [str(n.message) for app in (ada, bob) for n in app._notifications
                if "is already assigned to" in str(n.message)]
        assert ticket.assignee_email in ("ada@example.com", "bob@example.com")
        assert told == [f"#{tid} is already assigned to {ticket.assignee_name}"
                        f" <{ticket.assignee_email}>"], told


async def test_who_lists_every_agent_their_availability_and_what_they_have_open(seeded):
    db, ids = seeded
    ada, bob = make_app(db), make_app(db, agent_email="bob@example.com")
    async with ada.run_test(size=SIZE) as pilot_a, bob.run_test(size=SIZE) as pilot_b:
        pa, pb = Desk2(pilot_a), Desk2(pilot_b)
        await pa.ready()
        await pb.ready()
        pb.open(ids["t3"])
        await pb.settle()
        await pb.press("r")
        await until([pa, pb], lambda: any(p.state == "replying" for p in ada.others()))
        pa._here()
        ada.execute("who")
        await until([pa, pb], lambda: type(ada.screen).__name__ == "WhoScreen")
        text = widget_text(ada.screen.query_one("#who-body"))
        subject = (await ada.store.ticket(ids["t3"])).subject
        assert "Bob Builder <bob@example.com> · available" in text
        assert f"replying on #{ids['t3']} {subject} · via local" in text
        assert "Carol Chen <carol@example.com> · away · offline" in text
        assert "on the queue · via local (this session)" in text
        await pa.press("escape")
        assert type(ada.screen).__name__ != "WhoScreen"
