"""The whole ``:connect email`` wizard against a real Dovecot and an aiosmtpd sink."""

from __future__ import annotations

from email.message import EmailMessage

from textual.widgets import SelectionList

from engine.models import Role
from tests.helpers.admin import (
    SIZE,
    choose,
    make_app,
    next_step,
    notifications,
    run_command,
    started,
    until,
)
from tui.screens.channels import ChannelsScreen
from tui.screens.wizard import email as steps
from tui.widgets.channel_forms import RoutingForm, TicketPropertiesForm
from tui.widgets.settings_form import SettingsForm


def mail(n: int, to: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Customer {n} <customer{n}@example.org>"
    m["To"] = to
    m["Subject"] = f"Old question {n}"
    m["Message-ID"] = f"<old-{n}@example.org>"
    m["Date"] = "Mon, 03 Mar 2025 10:00:00 +0000"
    m.set_content(f"Question number {n}")
    return m.as_bytes()


async def test_walk_the_email_wizard(bare_db, mail_user, smtp_sink):
    handler, smtp_port = smtp_sink
    mail_user.append(mail(1, mail_user.address))
    mail_user.append(mail(2, mail_user.address))
    app = make_app(bare_db, run_channels=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "connect email", typed=True)
        await until(pilot, lambda: isinstance(app.screen, steps.MailboxStep), "step 1")

        # 1. mailbox: another IMAP server
        s1 = app.screen
        choose(s1, "provider", "imap")
        s1.query_one("#name-form", SettingsForm).set_value("name", "helpdesk")
        s1.query_one("#mailbox-form", SettingsForm).set_value("address", mail_user.address)
        s2 = await next_step(pilot, steps.CredentialsStep)

        # 2. credentials: a wrong password is reported beside the field, in words
        form = s2.query_one("#credentials-form", SettingsForm)
        assert form.value("imap_user") == mail_user.address
        settings = mail_user.settings(smtp_port=smtp_port)
        for key in steps.IMAP_FIELDS + steps.SMTP_FIELDS:
            if key in settings:
                form.set_value(key, settings[key])
        form.set_value("smtp_user", "")
        form.set_value("imap_password", "wrong")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: form.errors(), "the connection test")
        assert isinstance(app.screen, steps.CredentialsStep)
        assert list(form.errors()) == ["imap_password"]
        result = str(s2.query_one("#test-result").content)
        assert result.startswith("✗ IMAP:") and "SMTP" not in result
        form.set_value("imap_password", mail_user.password)
        s3 = await next_step(pilot, steps.DetailsStep)

        # 3. details: company, signature with a token, live preview
        details = s3.query_one("#details-form", SettingsForm)
        details.set_value("company_name", "Acme")
        details.set_value("signature", "Cheers,\n")
        details.widget("signature").move_cursor((1, 0))
        s3.query_one("#token-first_name").press()
        await pilot.pause()
        assert details.value("signature") == "Cheers,\n{first_name}"
        preview = str(s3.query_one("#preview").content)
        assert "From: Ada Admin at Acme <" in preview
        assert preview.rstrip().endswith("-- \nCheers,\nAda")
        s4 = await next_step(pilot, steps.PropertiesStep)

        # 4. ticket properties
        s4.query_one(TicketPropertiesForm).set_value("default_priority", "high")
        s5 = await next_step(pilot, steps.RoutingStep)

        # 5. routing: seatless Carl shown but not choosable; only-available on by default
        routing = s5.query_one(RoutingForm)
        routing.query_one("#routing-mode", SettingsForm).set_value("routing", "users_teams")
        await pilot.pause()
        targets = routing.query_one(SelectionList)
        carl = next(o for o in targets._options if o.value == "carl@example.com")
        assert carl.disabled and "no seat" in str(carl.prompt)
        assert routing.values()["only_available"] is True
        await pilot.press("ctrl+n")  # nobody chosen yet
        await until(pilot, lambda: str(routing.query_one("#targets-error").content), "error")
        targets.select("team:Billing")
        s6 = await next_step(pilot, steps.HistoryStep)

        # 6. history: all, as closed, with a progress bar
        choose(s6, "history", "all")
        await pilot.pause()
        s6.query_one("#history-form", SettingsForm).set_value("status", "closed")
        bar = s6.query_one("#history-progress")
        s7 = await next_step(pilot, steps.FinishStep)
        assert bar.total == 2 and bar.progress == 2
        summary = str(s7.query_one("#summary").content)
        assert "2 tickets imported from 2 mails" in summary and "team Billing" in summary

        # 7. connect: the channel is listed and receiving
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, ChannelsScreen)
                    and app.screen.loaded, "the channels screen")
        assert "Channel 'helpdesk' connected" in notifications(app)
        channel = await app.store.channel("helpdesk")
        assert channel.enabled and channel.defaults.priority.value == "high"
        assert channel.settings["signature"] == "Cheers,\n{first_name}"
        assert channel.routing.team_ids and channel.routing.only_available
        statuses = await app.store.read(lambda c: c.execute(
            "SELECT status FROM tickets WHERE channel_id=? ORDER BY id",
            (channel.id,)).fetchall())
        assert [r[0] for r in statuses] == ["closed", "closed"]
        screen = app.screen

        def row() -> list[str]:
            return [str(c) for c in screen.table.get_row_at(0)]

        async def refreshed() -> None:
            screen.reload()
            await pilot.pause(0.05)

        for _ in range(100):
            if row()[3] == "connected":
                break
            await refreshed()
        assert row()[:4] == ["helpdesk", "email", "on", "connected"]
        assert row()[6] == mail_user.address
        mail_user.append(mail(3, mail_user.address))
        for _ in range(200):
            if await app.store.read(lambda c: c.execute(
                    "SELECT count(*) FROM tickets WHERE channel_id=?",
                    (channel.id,)).fetchone()[0]) == 3:
                break
            await pilot.pause(0.05)
        else:
            raise AssertionError("the new mail did not become a ticket")
        await app.shutdown_engine()
    assert app.agent.role == Role.admin
