"""The forwarding path's listener step: where ticketty's SMTP listener accepts the mail.

A mail provider has to reach the listener, so the step asks for the address and the port and
says in plain words what to set up around it: the firewall opening, and either an MX record or
a routing rule at the provider. Next checks the port can really be listened on (in use, needs
root, not an address of this machine) before the channel is saved.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from engine.channels.email import listen_problem
from engine.channels.email_settings import EmailSettings
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_connect import email_check, merged
from tui.text import line
from tui.widgets.settings_form import SettingsForm, model_errors, specs_from_model

LISTEN_FIELDS = ["forward_listen_host", "forward_listen_port"]
EVERYWHERE = ("0.0.0.0", "::", "")
LOCAL = ("127.0.0.1", "::1", "localhost")


def listen_target(host: str, port: Any) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"smtp://{host}:{port}"


def explain(values: dict[str, Any]) -> Text:
    """What the admin must set up for mail to reach ``host:port``, in words."""
    address = line(str(values.get("address") or "your address"))
    domain = address.rpartition("@")[2] or "your domain"
    host = str(values.get("forward_listen_host") or "").strip()
    port = values.get("forward_listen_port")
    port_words = str(port) if isinstance(port, int) and port else "the port above"
    text = Text()
    text.append("Mail for ")
    text.append(address, "bold")
    text.append(" will reach ticketty at ")
    text.append(listen_target(host, port if port else "…"), "bold")
    if host in LOCAL:
        text.append(".\nThat is this machine only: a mail provider cannot reach it. Keep it "
                    "only if a mail server on this machine (such as Postfix) relays the mail "
                    "to ticketty; otherwise listen on 0.0.0.0.\n")
        return text
    text.append(" — every network address of this machine.\n" if host in EVERYWHERE
                else f" — the network address {host} of this machine.\n")
    text.append("\nFor your mail provider to deliver here:\n", "bold")
    text.append(f"1. Firewall: let incoming TCP connections reach port {port_words} of this "
                "machine.\n")
    text.append("2. Send the mail here, in one of two ways:\n")
    text.append(f"   • MX record: point the MX record of {domain} at this machine's host "
                f"name — only if {domain} is used for support alone, as mail for other "
                "addresses is refused. Mail servers deliver to port 25: listen on 25, or "
                f"redirect port 25 to {port_words} in the firewall.\n")
    text.append(f"   • Routing rule: keep your MX, and have your provider relay mail for "
                f"{address} to this machine's host name and port (Google Workspace: a Gmail "
                "routing rule that changes the route to this host; Microsoft 365: a mail flow "
                "rule through an outbound connector to this host, which uses port 25; a "
                "Postfix of your own: a transport entry).\n")
    text.append(f"Only mail addressed to {address} (or {address.replace('@', '+…@', 1)}) is "
                "accepted, so a rule that forwards to another address is refused.", "dim")
    return text


class ListenerStep(WizardStep):
    """Forwarding only: the listener's address and port, and what to set up around them."""

    TITLE = "Listener"

    DEFAULT_CSS = """
    ListenerStep #listener-explain { margin: 1 0 0 0; }
    """

    @classmethod
    def applies(cls, wizard: Wizard) -> bool:
        mode: str = merged(wizard)["mode"]
        return mode == "forwarding"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield Static(Text("Forwarded mail is delivered to ticketty's own SMTP listener. Where "
                          "should it listen?"), classes="wizard-note")
        yield SettingsForm(specs_from_model(EmailSettings, LISTEN_FIELDS, labels={
            "forward_listen_host": "Listen on address", "forward_listen_port": "Port"}),
            merged(w), id="listener-form", check=email_check(w))
        yield Static(explain(merged(w)), id="listener-explain")

    @on(SettingsForm.Changed)
    def _explain(self) -> None:
        values = {**merged(self.wizard),
                  **self.query_one("#listener-form", SettingsForm).values()}
        self.query_one("#listener-explain", Static).update(explain(values))

    async def check(self) -> bool:
        form = self.query_one("#listener-form", SettingsForm)
        values = form.values()
        bad = model_errors(EmailSettings, {**merged(self.wizard), **values}, LISTEN_FIELDS)
        if not bad and values["forward_listen_port"] == 0:
            bad["forward_listen_port"] = "choose a fixed port: your mail provider must know it"
        if not bad:
            problem = await listen_problem(values["forward_listen_host"].strip(),
                                           values["forward_listen_port"])
            if problem:
                on_host = problem.endswith("not an address of this machine")
                bad["forward_listen_host" if on_host else "forward_listen_port"] = problem
        if form.show_errors(bad):
            return False
        values["forward_listen_host"] = values["forward_listen_host"].strip()
        self.wizard.values.update(values)
        return True
