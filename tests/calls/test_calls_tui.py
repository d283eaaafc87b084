"""The calling channel in the TUI: ``V`` and ``:call`` on a call's ticket queue a call-back
(the engine places it through the Twilio stand-in), and the connect wizard's first steps."""

from __future__ import annotations

from pathlib import Path

from engine.channels.calls_book import CallRecord
from engine.models import Channel, InboundMessage, RoutingRule
from engine.sandbox.twilio import TwilioStandIn
from tests.helpers.tui import make_app, notifications, ready, settle

SIZE = (130, 36)
CUSTOMER = "+14155550199"


async def _call_ticket(db: Path, twilio: TwilioStandIn) -> tuple[int, str]:
    from engine.desk import ensure_first_admin
    from engine.identity import os_user
    from engine.store import Store

    async with Store(db) as store:
        user = os_user()
        me = await ensure_first_admin(store, user.default_email, user.name)
        await store.update_agent(me.email, phone="+14155550111")
        channel = await store.add_channel(Channel(kind="calls", name="Phones",
                                                  settings=twilio.settings(),
                                                  routing=RoutingRule()))
        result = await store.start_call(channel.id or 0, InboundMessage(
            channel_id=channel.id, key="CA1", sender_kind="phone", sender=CUSTOMER),
            CallRecord(
                id=0, channel_id=channel.id or 0, direction="inbound",
                from_number=CUSTOMER, to_number="+14155550100", customer=CUSTOMER,
                call_sid="CA1", status="no-answer", voicemail=True))
        return result[1].ticket_id or 0, me.email


async def test_V_and_call_queue_a_call_back_placed_by_the_engine(db_path: Path) -> None:
    from engine.config import Config, EngineConfig

    async with TwilioStandIn(answer_outbound=False) as twilio:
        ticket_id, me = await _call_ticket(db_path, twilio)
        from datetime import UTC

        from tests.helpers.tui import frozen_clock
        from tui.app import TickettyApp

        app = TickettyApp(Config(engine=EngineConfig(http_port=0, lease_seconds=3,
                                                     outbox_interval=0.1)), db_path,
                          agent_email=me, clock=frozen_clock, tz=UTC, run_channels=True)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            app.open_ticket(ticket_id)
            await ready(pilot)
            await pilot.press("V")
            await settle(pilot)
            for _ in range(200):
                if twilio.calls:
                    break
                await pilot.pause(0.05)
            assert twilio.calls, notifications(app)
            assert dict(twilio.calls[0]["params"])["To"] == "+14155550111"
            assert any("your phone rings first" in n for n in notifications(app))
            # the first call-back is still ringing: ``:call`` says so instead of ringing twice
            await pilot.press("colon")
            await pilot.press(*"call", "enter")
            await settle(pilot)
            for _ in range(100):
                if any("already has a call-back" in n for n in notifications(app)):
                    break
                await pilot.pause(0.05)
            assert any(f"icket #{ticket_id} already has a call-back" in n
                       and "wait for it to end" in n for n in notifications(app)), \
                notifications(app)
            assert len(twilio.calls) == 1
            calls = await app.store.ticket_calls(ticket_id)
            assert [c.direction for c in calls] == ["inbound", "outbound"]


async def test_the_wizard_checks_the_token_with_the_api(db_path: Path) -> None:
    from tui.screens.wizard.calls import AccountStep, AnsweringStep
    from tui.widgets.settings_form import SettingsForm

    async with TwilioStandIn() as twilio:
        _, me = await _call_ticket(db_path, twilio)  # an admin (and a first channel)
        app = make_app(db_path, agent_email=me)
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await pilot.press("colon")
            await pilot.press(*"connect calls", "enter")
            await settle(pilot)
            for _ in range(100):
                if isinstance(app.screen, AccountStep):
                    break
                await pilot.pause(0.05)
            step = app.screen
            assert isinstance(step, AccountStep)
            step.query_one("#name-form", SettingsForm).set_value("name", "Second line")
            form = step.query_one("#account-form", SettingsForm)
            for key, value in {**twilio.settings(), "auth_token": "wrong"}.items():
                form.set_value(key, value)
            await pilot.press("ctrl+n")
            for _ in range(200):
                text = str(step.query_one("#test-result").render())
                if "✗" in text:
                    break
                await pilot.pause(0.05)
            assert "auth token is wrong" in text
            form.set_value("auth_token", twilio.auth_token)
            await pilot.press("ctrl+n")
            for _ in range(200):
                if isinstance(app.screen, AnsweringStep):
                    break
                await pilot.pause(0.05)
            assert isinstance(app.screen, AnsweringStep)
            answering = app.screen
            saved = await app.store.channel("Second line")  # saved, disabled, so it has URLs
            assert saved is not None and not saved.enabled
            links = str(answering.query_one("#calls-links").render())
            assert f"/calls/{saved.id}/voice" in links and f"/calls/{saved.id}/status" in links
            answering.query_one("#answer-form", SettingsForm).set_value("ring_strategy",
                                                                        "in_turn")
            await pilot.press("ctrl+n")
            for _ in range(200):
                if not isinstance(app.screen, AnsweringStep):
                    break
                await pilot.pause(0.05)
            saved = await app.store.channel("Second line")
            assert saved is not None and saved.settings["ring_strategy"] == "in_turn"
            assert saved.settings["api_base_url"] == twilio.api_base_url
