"""Forwarding: the wizard asks where to listen (and says what to set up around it); the
channels screen and the CLI show the address the running listener really bound."""

from __future__ import annotations

import asyncio
import json
import socket

import aiosmtplib

from engine.models import Channel
from tests.helpers.admin import (
    SIZE,
    make_app,
    next_step,
    open_email_wizard,
    run_command,
    started,
    until,
)
from tests.helpers.cli import BIN
from tests.helpers.servers import free_port
from tui.screens.channels import ChannelsScreen
from tui.screens.wizard import email as steps
from tui.widgets.settings_form import SettingsForm


async def test_forwarding_asks_where_to_listen_and_explains(bare_db):
    app = make_app(bare_db)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        s1 = await open_email_wizard(pilot, "forwarding", "forwarded")
        await pilot.pause()
        assert "2 Listener" in str(s1.query_one("#wizard-steps").content)
        s2 = await next_step(pilot, steps.ListenerStep)

        form = s2.query_one("#listener-form", SettingsForm)
        assert form.values() == {"forward_listen_host": "0.0.0.0", "forward_listen_port": 2525}
        assert app.focused is form.widget("forward_listen_host")
        words = str(s2.query_one("#listener-explain").content)
        assert "Mail for help@acme.test will reach ticketty at smtp://0.0.0.0:2525" in words
        assert "Firewall: let incoming TCP connections reach port 2525" in words
        assert "MX record of acme.test" in words and "Routing rule" in words

        form.set_value("forward_listen_host", "127.0.0.1")
        await pilot.pause()
        words = str(s2.query_one("#listener-explain").content)
        assert "a mail provider cannot reach it" in words

        form.set_value("forward_listen_port", 0)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: form.errors(), "the port error")
        assert form.errors() == {
            "forward_listen_port": "choose a fixed port: your mail provider must know it"}

        with socket.socket() as taken:  # another program listens there already
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            form.set_value("forward_listen_port", taken.getsockname()[1])
            await pilot.press("ctrl+n")
            await until(pilot, lambda: "already in use" in
                        form.errors().get("forward_listen_port", ""), "the in-use error")

        port = free_port()
        form.set_value("forward_listen_port", port)
        s3 = await next_step(pilot, steps.CredentialsStep)
        assert s3.wizard.values["forward_listen_host"] == "127.0.0.1"
        assert s3.wizard.values["forward_listen_port"] == port
        assert list(s3.query_one("#credentials-form", SettingsForm).values())[0] == "smtp_host"
        await pilot.press("escape")


async def test_the_real_listening_address_is_shown_everywhere(bare_db):
    from engine.store import Store

    async with Store(bare_db) as store:  # port 0: the listener picks one
        await store.add_channel(Channel(kind="email", name="forwarded", settings={
            "address": "help@acme.test", "mode": "forwarding", "forward_listen_host": "127.0.0.1",
            "forward_listen_port": 0}))
    app = make_app(bare_db, run_channels=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await run_command(pilot, "channels")
        await until(pilot, lambda: isinstance(app.screen, ChannelsScreen) and app.screen.loaded,
                    "the channels screen")
        screen = app.screen
        await until(pilot, lambda: "forward to smtp://127.0.0.1:" in
                    str(screen.table.get_row_at(0)[6]), "the listener's address")
        address = str(screen.table.get_row_at(0)[6])
        port = int(address.rsplit(":", 1)[1].rstrip(")"))
        assert port != 0 and address == f"help@acme.test (forward to smtp://127.0.0.1:{port})"

        # it is the real one: mail sent there becomes a ticket
        await aiosmtplib.send(b"From: ana@customer.test\r\nTo: help@acme.test\r\nSubject: Hi"
                              b"\r\nMessage-ID: <l1@customer.test>\r\n\r\nHello\r\n",
                              sender="ana@customer.test", recipients=["help@acme.test"],
                              hostname="127.0.0.1", port=port)
        await until(pilot, lambda: str(screen.table.get_row_at(0)[5]) == "1",
                    "the ticket counted")

        # another process reads the same address from the channel's health
        proc = await asyncio.create_subprocess_exec(
            BIN, "--db", str(bare_db), "channels", "list", "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err
        assert json.loads(out)[0]["address"] == address
        await app.shutdown_engine()

    async with Store(bare_db) as store:  # stopped: no longer claims to listen
        channel = await store.channel("forwarded")
        assert channel.health.get("listening") is None
        from engine.channels import adapter_class

        assert adapter_class("email").address_of(channel) == \
            "help@acme.test (not listening yet; any free port on 127.0.0.1)"
