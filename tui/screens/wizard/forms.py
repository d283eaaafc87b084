"""The web form wizard: the steps of ``:connect forms`` — the form builder and its channel.

1. Form — the channel's name; an existing form (``ticketty forms …``) or a new one (name,
   slug).
2. Fields — the fields list (:mod:`.form_fields`): add, edit, remove, reorder with keys.
3. Ticket fields — the hidden ticket fields' defaults (pipeline, status, priority), the
   thank-you message or a redirect, the accent colour. The form is saved here.
4. Routing — who gets the new tickets (shared with every kind).
5. Replies — the email channel answers go out through (``reply_channel``) and the minimum
   fill time.
6. Embed — the form's address and embed codes; the channel is connected.

:func:`manage_form` runs steps 2-3 alone on a channel's form: the channel edit screen's
"Manage form" button.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from engine.channels.forms import links
from engine.channels.forms_settings import FormsSettings
from engine.channels.registry import mail_kinds
from engine.form_defs import SLUG_RE, FormError
from engine.models import Priority
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_details import FinishStep, RoutingStep
from tui.screens.wizard.form_fields import FieldsStep, draft_form
from tui.text import line
from tui.widgets.settings_form import FieldSpec, SettingsForm, model_errors, specs_from_model

if TYPE_CHECKING:
    from tui.host import DeskApp

NEW = "__new__"
STARTER_FIELDS: list[dict[str, Any]] = [{"key": "name", "label": "Your name"},
                  {"key": "email", "label": "Your email", "type": "email", "required": True}]


def slugify(title: str) -> str:
    """A slug from a form's title: ``Contact us!`` → ``contact-us``."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")


def public_base(app: Any) -> str:
    config = getattr(app, "config", None)
    return config.engine.public_base() if config is not None else "http://127.0.0.1:8780"


class FormStep(WizardStep):
    TITLE = "Form"

    def body(self) -> ComposeResult:
        w = self.wizard
        forms: list[dict[str, Any]] = w.extra.get("forms", [])
        choices = [("Build a new form", NEW)] + [(f"{line(f['name'])} (/f/{f['slug']})",
                                                  f["slug"]) for f in forms]
        yield SettingsForm([
            FieldSpec("name", "Channel name", "text", "Shown in the queue and the channels list."),
            FieldSpec("form", "Form", "choice", "A form made before, or a new one.", choices),
            FieldSpec("form_name", "Form title", "text", "Shown above the form."),
            FieldSpec("form_slug", "Slug", "text",
                      "Its address: /f/<slug> (empty: made from the title).",
                      placeholder="contact-us"),
        ], {"name": w.name or "Web form", "form": w.values.get("form", NEW),
            "form_name": w.extra.get("draft", {}).get("name", "Contact us"),
            "form_slug": w.extra.get("draft", {}).get("slug", "")}, id="form-choice")

    def on_mount(self) -> None:
        self._toggle()

    def on_settings_form_changed(self) -> None:
        self._toggle()

    def _toggle(self) -> None:
        form = self.query_one(SettingsForm)
        new = form.value("form") == NEW
        form.show("form_name", new)
        form.show("form_slug", new)

    async def check(self) -> bool:
        w = self.wizard
        form = self.query_one(SettingsForm)
        values = form.values()
        errors: dict[str, str] = {}
        if not line(str(values["name"] or "")):
            errors["name"] = "give the channel a name"
        chosen = values["form"]
        if chosen == NEW:
            slug = str(values["form_slug"] or "").strip() or slugify(str(values["form_name"]))
            form.set_value("form_slug", slug)
            draft = w.extra.get("draft") or {}
            ours = draft.get("slug") == slug and w.extra.get("saved")  # saved by this run
            if not SLUG_RE.match(slug):
                errors["form_slug"] = "lower-case letters, digits and -, like contact-us"
            elif not ours and await w.store.form(slug) is not None:
                errors["form_slug"] = f"a form with slug {slug!r} exists already; choose it above"
            if not str(values["form_name"] or "").strip():
                errors["form_name"] = "give the form a title"
        if form.show_errors(errors):
            return False
        w.name = line(values["name"])
        if chosen == NEW:
            title = str(values["form_name"]).strip()
            if draft.get("slug") == slug:  # back here: keep the fields built so far
                draft["name"] = title
            else:
                w.extra.update(draft={"name": title, "slug": slug,
                                      "fields": [dict(f) for f in STARTER_FIELDS]}, saved=False)
        else:
            existing = await w.store.form(chosen)
            w.extra.update(draft=existing.model_dump(mode="json"), saved=True)
            slug = chosen
        w.values["form"] = slug
        return True


class TicketFieldsStep(WizardStep):
    TITLE = "Ticket fields"

    def body(self) -> ComposeResult:
        w = self.wizard
        draft = w.extra["draft"]
        ticket = draft.get("ticket") or {}
        pipelines = [("The channel's default", "")] + [(p.name, p.name) for p in w.pipelines]
        statuses = [("The channel's default", "")] + sorted(
            {(s.name, s.name) for p in w.pipelines for s in p.statuses})
        priorities = [("The channel's default", "")] + [(p.value, p.value) for p in Priority]
        yield Static(Text("Hidden ticket fields every submission sets, and what the visitor"
                          " sees after sending."), classes="wizard-note")
        yield SettingsForm([
            FieldSpec("pipeline", "Pipeline", "choice", "", pipelines),
            FieldSpec("status", "Status", "choice", "", statuses),
            FieldSpec("priority", "Priority", "choice", "", priorities),
            FieldSpec("thank_you", "Thank-you message", "multiline",
                      "Shown after a submission."),
            FieldSpec("redirect", "Redirect", "text",
                      "Or send the visitor to this address instead (https://…)."),
            FieldSpec("accent", "Accent colour", "text", "Like #2f6feb."),
        ], {"pipeline": ticket.get("pipeline") or "", "status": ticket.get("status") or "",
            "priority": ticket.get("priority") or "",
            "thank_you": draft.get("thank_you", "Thanks, we will be in touch."),
            "redirect": draft.get("redirect") or "", "accent": draft.get("accent", "#2f6feb")},
            id="ticket-fields")

    async def check(self) -> bool:
        w = self.wizard
        form = self.query_one(SettingsForm)
        v = form.values()
        draft = dict(w.extra["draft"])
        draft["ticket"] = {k: v[k] or None for k in ("pipeline", "status", "priority")}
        draft["thank_you"] = str(v["thank_you"] or "").strip() or "Thanks, we will be in touch."
        draft["redirect"] = str(v["redirect"] or "").strip() or None
        draft["accent"] = str(v["accent"] or "").strip() or "#2f6feb"
        try:
            definition = draft_form(draft)
        except FormError as exc:
            key, _, message = str(exc).partition(": ")
            if not form.show_errors({key.split(".")[-1]: message}):
                self.say(str(exc))
            return False
        form.clear_errors()
        if w.extra.get("saved"):
            await w.store.update_form(definition.slug, definition)
        else:
            await w.store.add_form(definition)
            w.extra["saved"] = True
        w.extra["draft"] = definition.model_dump(mode="json")
        return True


class RepliesStep(WizardStep):
    TITLE = "Replies"

    def body(self) -> ComposeResult:
        w = self.wizard
        emails: list[str] = w.extra.get("email_channels", [])
        yield Static(Text("An agent's answer to a form ticket goes to the submitter by email,"
                          " through this channel." if emails else
                          "Connect an email channel to answer form tickets by email."),
                     classes="wizard-note")
        yield SettingsForm(specs_from_model(
            FormsSettings, ["reply_channel", "min_fill_seconds"],
            labels={"reply_channel": "Reply through", "min_fill_seconds": "Minimum fill time"},
            choices={"reply_channel": [(n, n) for n in emails] or [("(none yet)", "")]}),
            {"reply_channel": w.values.get("reply_channel") or (emails[0] if emails else ""),
             "min_fill_seconds": w.values.get("min_fill_seconds", 3)}, id="replies")

    async def check(self) -> bool:
        form = self.query_one(SettingsForm)
        values = form.values()
        bad = model_errors(FormsSettings, {**self.wizard.values, **values}, values)
        if form.show_errors(bad):
            return False
        self.wizard.values.update(values)
        return True


class EmbedStep(FinishStep):
    TITLE = "Embed"

    def summary(self, channel: Any) -> Text:
        """The shared summary without its mail-history line, and where answers go."""
        lines = [t for t in super().summary(channel).split("\n")
                 if not t.plain.startswith("History")]
        text = Text("\n").join(lines)
        reply = self.wizard.values.get("reply_channel") or "the first email channel"
        text.append(f"\nAnswers go by email through {line(str(reply))}.", "dim")
        return text

    def body(self) -> ComposeResult:
        yield from super().body()
        slug = self.wizard.values.get("form", "")
        title = self.wizard.extra.get("draft", {}).get("name") or self.wizard.name
        found = links(slug, public_base(self.app), title)
        text = Text("\n")
        for label, key in (("Address", "form_url"), ("Embed (script)", "embed_code"),
                           ("Embed (iframe)", "embed_iframe")):
            text.append(f"{label}\n", "bold")
            text.append(found[key] + "\n\n")
        yield Static(text, id="embed-codes")


class FormsWizard(Wizard):
    kind = "forms"
    title = "Connect a web form"
    steps = [FormStep, FieldsStep, TicketFieldsStep, RoutingStep, RepliesStep, EmbedStep]

    async def load(self) -> None:
        await super().load()
        self.extra["forms"] = await self.store.forms()
        self.extra["email_channels"] = [c.name for c in await self.store.channels()
                                        if c.kind in mail_kinds()]  # they answer by mail


class _Finished(WizardStep):
    """The end of "Manage form": says the form was saved."""

    TITLE = "Saved"
    NEXT_LABEL = "Close"

    def body(self) -> ComposeResult:
        draft = self.wizard.extra["draft"]
        yield Static(Text(f"Form {line(draft['name'])} (/f/{draft['slug']}) is saved; the page"
                          " shows the change at its next load."))


class FormEditor(Wizard):
    """Steps 2-3 alone, on an existing form (the channel edit screen's "Manage form")."""

    kind = "forms"
    title = "Manage form"
    steps = [FieldsStep, TicketFieldsStep, _Finished]

    def __init__(self, app: DeskApp, slug: str) -> None:
        super().__init__(app)
        self.slug = slug

    async def load(self) -> None:
        await super().load()
        form = await self.store.form(self.slug)
        if form is None:
            raise ValueError(f"no form with slug {self.slug!r}")
        self.extra.update(draft=form.model_dump(mode="json"), saved=True)
        self.values["form"] = self.slug


async def manage_form(app: DeskApp, slug: str) -> bool:
    """Edit form ``slug`` with the builder's steps; True when it was saved."""
    editor = FormEditor(app, slug)
    await editor.run()
    return bool(editor.extra.get("saved"))
