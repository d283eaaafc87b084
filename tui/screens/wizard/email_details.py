"""The team email wizard's later stages: steps 3-7 (details, ticket properties, routing,
history import, connect and finish). The step list is :mod:`tui.screens.wizard.email`.
"""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)

from engine.channels import Ability, cannot, entry
from engine.channels.email_compose import compose_reply
from engine.channels.email_settings import EmailSettings
from engine.models import Channel, RoutingMode, TicketDefaults
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_connect import merged
from tui.text import clean, line
from tui.widgets.channel_forms import RoutingForm, TicketPropertiesForm
from tui.widgets.choice import ChoiceSet
from tui.widgets.settings_form import FieldSpec, SettingsForm, model_errors, specs_from_model

DETAIL_FIELDS = ["from_name_mode", "company_name", "address", "signature", "signature_html",
                 "use_original_sender"]
TOKENS = [("full_name", "Full name"), ("first_name", "First name"), ("last_name", "Last name")]
SAMPLE_TEXT = "Hello,\n\nThanks for writing in: we are looking into it and will get back to you."


def sketch(wizard: Wizard) -> Channel | None:
    """The channel as entered so far, for forms that show its defaults and routing."""
    try:
        return wizard.build()
    except ValueError:
        return None


# ------------------------------------------------------------------------------ step 3
class DetailsStep(WizardStep):
    TITLE = "Details"

    def body(self) -> ComposeResult:
        agent = self.tapp.agent
        example = agent.name if agent else "Ada"
        with Horizontal(id="details-columns"):
            with Vertical(id="details-left"):
                yield SettingsForm(specs_from_model(
                    EmailSettings, DETAIL_FIELDS, multiline=["signature", "signature_html"],
                    labels={"address": "From address", "from_name_mode": "Sender name",
                            "use_original_sender": "Credit original sender",
                            "signature_html": "HTML signature"},
                    choices={"from_name_mode": [(f"{line(example)} at Company",
                                                 "agent_and_company"),
                                                ("Company only", "company")]}),
                    merged(self.wizard), id="details-form")
                with Horizontal(id="tokens"):
                    yield Label("Insert in signature")
                    for key, label in TOKENS:
                        yield Button(label, id=f"token-{key}", classes="token")
                yield SettingsForm([FieldSpec("as_html", "Preview as HTML", "bool",
                                              "Show the HTML alternative mail clients render.")],
                                   {"as_html": False}, id="preview-mode")
            with Vertical(id="details-right"):
                yield Label("Preview of a reply", classes="sf-label")
                yield Static("", id="preview")

    DEFAULT_CSS = """
    DetailsStep #details-columns { height: auto; }
    DetailsStep #details-left { width: 1fr; height: auto; }
    DetailsStep #details-right { width: 50; height: auto; }
    DetailsStep #details-left .sf-line Input, DetailsStep #details-left .sf-line Select,
    DetailsStep #details-left .sf-line Select > SelectOverlay { width: 34; }
    DetailsStep #details-left .sf-line TextArea { width: 40; }
    DetailsStep #tokens { height: 1; margin: 0 0 1 0; }
    DetailsStep #tokens Label { width: 24; padding: 0 1 0 0; text-style: bold; }
    DetailsStep #tokens Button { margin-right: 1; min-width: 12; height: 1; border: none; }
    DetailsStep #preview { border: round $primary; padding: 0 1; width: 50; height: auto; }
    """

    def on_mount(self) -> None:
        self.refresh_preview()

    @on(SettingsForm.Changed)
    def _changed(self) -> None:
        self.refresh_preview()

    @on(Button.Pressed, ".token")
    def _insert_token(self, event: Button.Pressed) -> None:
        key = (event.button.id or "").removeprefix("token-")
        area = self.query_one("#details-form", SettingsForm).widget("signature")
        if isinstance(area, TextArea):
            area.insert("{" + key + "}")
            area.focus()

    def refresh_preview(self) -> None:
        values = {**merged(self.wizard), **self.query_one("#details-form", SettingsForm).values()}
        as_html = self.query_one("#preview-mode", SettingsForm).value("as_html")
        agent = self.tapp.agent
        settings = EmailSettings.model_construct(**values)
        address = str(values.get("address") or "")
        if "@" not in address:
            self.query_one("#preview", Static).update(Text("(enter a from address)", "dim"))
            return
        composed = compose_reply(
            settings, to="jane@example.com", subject="Where is my order?", text=SAMPLE_TEXT,
            ticket_id=1042, message_id=1, idempotency_key="preview",
            agent_name=agent.name if agent else "Ada Admin", in_reply_to="<question@example.com>",
            date=self.tapp.clock())
        mail = message_from_bytes(composed.raw, policy=policy.default)
        part = mail.get_body(preferencelist=("html",) if as_html else ("plain",))
        body = part.get_content() if part is not None else ""
        text = Text()
        text.append("From: ", "bold")
        text.append(line(mail["From"]) + "\n")
        text.append("Subject: ", "bold")
        text.append(line(mail["Subject"]) + "\n\n")
        text.append(clean(body).rstrip())
        self.query_one("#preview", Static).update(text)

    async def check(self) -> bool:
        form = self.query_one("#details-form", SettingsForm)
        values = form.values()
        bad = model_errors(EmailSettings, {**merged(self.wizard), **values}, values)
        if form.show_errors(bad):
            return False
        self.wizard.values.update(values)
        return True


# ------------------------------------------------------------------------------ step 4
class PropertiesStep(WizardStep):
    TITLE = "Ticket properties"

    def body(self) -> ComposeResult:
        yield Static(Text("New tickets from this channel start with these properties."),
                     classes="wizard-note")
        yield TicketPropertiesForm(self.wizard.pipelines, sketch(self.wizard), id="properties")

    async def check(self) -> bool:
        form = self.query_one(TicketPropertiesForm)
        self.wizard.values.update(form.values())
        form.clear_errors()
        try:
            self.wizard.build()
        except ValueError as exc:
            if getattr(exc, "key", "").startswith("default_"):
                self.show_setting_error(exc, [form])
                return False
        return True


# ------------------------------------------------------------------------------ step 5
class RoutingStep(WizardStep):
    TITLE = "Routing"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield RoutingForm(w.agents, w.teams, sketch(w), id="routing")

    async def check(self) -> bool:
        form = self.query_one(RoutingForm)
        self.wizard.values.update(form.values())
        form.show_errors({})
        try:
            self.wizard.build()
        except ValueError as exc:
            self.show_setting_error(exc, [form])
            return False
        return True


# ------------------------------------------------------------------------------ step 6
class HistoryStep(WizardStep):
    TITLE = "History"
    CHOICES = [("none", "None — start with mail that arrives from now on"),
               ("all", "All mail in the mailbox"), ("since", "Mail since a date")]

    DEFAULT_CSS = """
    HistoryStep #history-progress { margin: 1 0; }
    """

    @property
    def forwarding(self) -> bool:
        mode: str = merged(self.wizard)["mode"]
        return mode == "forwarding"

    def body(self) -> ComposeResult:
        w = self.wizard
        if self.forwarding:
            yield Static(Text("A forwarding channel has no mailbox to import from: mail "
                              "forwarded from now on becomes tickets."), classes="wizard-note")
            return
        choice = w.extra.get("history", "none")
        yield Label("Import the mail already in the mailbox?", classes="sf-label")
        with ChoiceSet(id="history"):
            for key, label in self.CHOICES:
                yield RadioButton(label, value=key == choice, name=key)
        pipeline = next((p for p in w.pipelines
                         if p.name == w.values.get("default_pipeline")), w.pipelines[0])
        statuses = [(s.name + (" (closed)" if s.closed else ""), s.name)
                    for s in pipeline.statuses]
        yield SettingsForm([
            FieldSpec("since", "Since", "text", "Import mail received on or after this date.",
                      placeholder="YYYY-MM-DD"),
            FieldSpec("status", "Status of imported tickets", "choice",
                      "Old conversations usually go in as closed.", statuses),
        ], {"since": w.extra.get("since", ""),
            "status": w.extra.get("history_status", pipeline.first_closed)}, id="history-form")
        with Vertical(id="history-run"):
            yield ProgressBar(total=None, show_eta=False, id="history-progress")
            yield Static("", id="history-result")

    def on_mount(self) -> None:
        if not self.forwarding:
            self._show()
            self.query_one("#history-run").display = False

    @property
    def choice(self) -> str:
        pressed = self.query_one("#history", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "none"

    @on(RadioSet.Changed)
    def _show(self) -> None:
        form = self.query_one("#history-form", SettingsForm)
        form.show("since", self.choice == "since")
        form.show("status", self.choice != "none")

    def _progress(self, done: int, total: int) -> None:
        bar = self.query_one("#history-progress", ProgressBar)
        bar.update(total=max(total, 1), progress=done)
        self.query_one("#history-result", Static).update(Text(f"{done} of {total} mails"))

    async def check(self) -> bool:
        w = self.wizard
        if self.forwarding:
            await w.save(enabled=False)
            return True
        form = self.query_one("#history-form", SettingsForm)
        values = form.values()
        since: date | None = None
        if self.choice == "since":
            try:
                since = date.fromisoformat(values["since"].strip())
            except ValueError:
                form.show_errors({"since": "a date like 2024-01-31"})
                return False
        form.clear_errors()
        w.extra.update(history=self.choice, since=values["since"], history_status=values["status"])
        channel = await w.save(enabled=False)
        adapter = w.adapter(channel)
        wanted = Ability.skip_existing if self.choice == "none" else Ability.history_import
        if not adapter.can(wanted):
            self.say(cannot(channel.kind, wanted, channel.name))
            return False
        self.query_one("#history-run").display = True
        result = self.query_one("#history-result", Static)
        if self.choice == "none":
            result.update(Text("Skipping the mail already there…"))
            await adapter.skip_existing()
            w.extra["report"] = None
            return True
        report = await adapter.import_history(since=since, status=values["status"],
                                              progress=self._progress)
        w.extra["report"] = report
        result.update(Text(f"{report['found']} mails: {report['created']} new tickets, "
                           f"{report['duplicates']} already there, "
                           f"{report['quarantined']} quarantined"))
        return True


# ------------------------------------------------------------------------------ step 7
class FinishStep(WizardStep):
    TITLE = "Connect"
    NEXT_LABEL = "Connect and finish"

    def body(self) -> ComposeResult:
        w = self.wizard
        channel = w.channel or sketch(w)
        yield Static(self.summary(channel), id="summary")

    def summary(self, channel: Channel | None) -> Text:
        w = self.wizard
        text = Text()
        if channel is None:
            return Text("Nothing to connect yet.")
        d: TicketDefaults = channel.defaults
        by_id = {a.id: a for a in w.agents}
        team_names = {t.id: t.name for t in w.teams}
        rule = channel.routing
        if rule.mode == RoutingMode.users_teams:
            who = [by_id[i].name for i in rule.agent_ids if i in by_id]
            who += [f"team {team_names[i]}" for i in rule.team_ids if i in team_names]
            routing = ", ".join(who)
        else:
            routing = "nobody" if rule.mode == RoutingMode.nobody else "the contact's owner"
        if rule.mode != RoutingMode.nobody:
            routing += " (only available agents)" if rule.only_available else ""
        report = w.extra.get("report")
        history = ("none" if not report else
                   f"{report['created']} tickets imported from {report['found']} mails")
        kind = entry(channel.kind)
        rows = [("Channel", channel.name), ("Kind", kind.label.lower()),
                ("Address", kind.adapter_class().address_of(channel)),
                ("New tickets", f"{d.pipeline} · {d.status} · {d.priority.value}"),
                ("Routing", routing), ("History", history)]
        for label, value in rows:
            text.append(f"{label:<13}", "bold")
            text.append(line(value) + "\n")
        text.append("\nConnect to enable the channel: it starts receiving at once.", "dim")
        return text

    async def check(self) -> bool:
        await self.wizard.save(enabled=True)
        return True
