"""The Messenger and WhatsApp wizards: the steps of ``:connect messenger`` / ``whatsapp``.

1. Connect — the Page (or number) id, the token and the app secret; Next checks the token with
   a Graph call and shows the Page (or number) it belongs to.
2. Webhook — the channel is saved (disabled) so it has its webhook URL; the step shows that URL,
   the verify token (generated) and the fields to subscribe in Meta's App Dashboard.
3. Messages (Messenger) — greeting, instant reply, GDPR consent and its text.
4. Ticket properties — 5. Routing — 6. Connect: shared with every kind.

Every field is rendered from the kind's settings model (:mod:`engine.channels.meta_settings`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from engine.channels.meta_settings import MessengerSettings, WhatsAppSettings
from engine.channels.registry import adapter_class
from engine.config import user_config
from tui.screens.wizard.base import Wizard, WizardStep
from tui.screens.wizard.email_details import FinishStep, PropertiesStep, RoutingStep
from tui.text import line
from tui.widgets.settings_form import FieldSpec, SettingsForm, defaults_of, specs_from_model

#: what to tick under "Webhooks" in Meta's App Dashboard, per kind
SUBSCRIBE = {"messenger": "messages, messaging_postbacks, message_deliveries, message_reads",
             "whatsapp": "messages"}
CONNECT_FIELDS = {"messenger": ("page_id", "page_access_token", "app_secret", "graph_base_url"),
                  "whatsapp": ("phone_number_id", "waba_id", "access_token", "app_secret",
                               "graph_base_url")}
MESSAGE_FIELDS = ("greeting", "instant_reply", "gdpr", "consent_text")


def merged(wizard: Wizard) -> dict[str, Any]:
    model = wizard.settings_model
    return {**defaults_of(model), **{k: v for k, v in wizard.values.items()
                                     if k in model.model_fields}}


async def token_owner(kind: str, values: dict[str, Any]) -> str:
    """What the token reaches, in words (raises the Graph error, in words, when it is bad)."""
    if kind == "messenger":
        from engine.channels.messenger import page_of

        page = await page_of(MessengerSettings.model_validate(values))
        return f"Page “{page.get('name')}” ({page.get('id')})"
    from engine.channels.whatsapp import number_of

    number = await number_of(WhatsAppSettings.model_validate(values))
    return f"{number.get('verified_name')} ({number.get('display_phone_number')})"


class ConnectStep(WizardStep):
    TITLE = "Connect"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield Static(Text("From Meta's App Dashboard: the ids, a token with messaging "
                          "permission and the app's App Secret. Next checks the token."),
                     classes="wizard-note")
        yield SettingsForm([FieldSpec("name", "Channel name", "text", "How agents see it.")],
                           {"name": w.name or w.title.removeprefix("Connect ")}, id="name-form")
        yield SettingsForm(specs_from_model(w.settings_model, CONNECT_FIELDS[w.kind]),
                           merged(w), id="connect-form")

    async def check(self) -> bool:
        w = self.wizard
        w.name = str(self.query_one("#name-form", SettingsForm).values()["name"]).strip()
        if not w.name:
            self.say("The channel needs a name.")
            return False
        w.values.update(self.query_one("#connect-form", SettingsForm).values())
        w.build()  # names the bad key
        try:
            owner = await token_owner(w.kind, merged(w))
        except Exception as exc:  # the Graph error, in words
            self.say(f"The token check failed: {exc}")
            return False
        w.extra["owner"] = owner
        label = owner.split(" (")[0].strip("Page “”")
        w.values["page_name" if w.kind == "messenger" else "display_phone"] = label
        self.app.notify(f"Token OK: {owner}")
        return True


class WebhookStep(WizardStep):
    TITLE = "Webhook"

    def body(self) -> ComposeResult:
        yield Static(Text("Saving the channel to give it its webhook URL…"), id="webhook-info")

    async def on_mount(self) -> None:  # type: ignore[override]
        super().on_mount()
        w = self.wizard
        if not w.values.get("verify_token"):  # generated once, then kept with the values
            w.values["verify_token"] = w.settings_model.model_validate(
                merged(w)).verify_token.get_secret_value()
        channel = await w.save(enabled=False)
        base = user_config().engine.public_base().rstrip("/")
        url = adapter_class(w.kind).public_links(channel, base)["webhook_url"]
        verify = w.settings_model.model_validate(merged(w)).verify_token.get_secret_value()
        text = Text()
        for label, value in (("Token belongs to", w.extra.get("owner", "")),
                             ("Callback URL", url), ("Verify token", verify),
                             ("Subscribe to", SUBSCRIBE[w.kind])):
            text.append(f"{label:<18}", "bold")
            text.append(line(value) + "\n")
        text.append("\nType these into the App Dashboard (Webhooks). The URL must be reachable "
                    "over HTTPS: set [engine] public_url to your public address.", "dim")
        self.query_one("#webhook-info", Static).update(text)


class MessagesStep(WizardStep):
    TITLE = "Messages"

    @classmethod
    def applies(cls, wizard: Wizard) -> bool:
        return wizard.kind == "messenger"

    def body(self) -> ComposeResult:
        yield SettingsForm(specs_from_model(MessengerSettings, MESSAGE_FIELDS,
                                            multiline=["consent_text"]),
                           merged(self.wizard), id="messages-form")

    async def check(self) -> bool:
        self.wizard.values.update(self.query_one("#messages-form", SettingsForm).values())
        self.wizard.build()
        return True


class MessengerWizard(Wizard):
    kind: ClassVar[str] = "messenger"
    title: ClassVar[str] = "Connect Facebook Messenger"
    steps: ClassVar[list[type[WizardStep]]] = [ConnectStep, WebhookStep, MessagesStep,
                                               PropertiesStep, RoutingStep, FinishStep]


class WhatsAppWizard(Wizard):
    kind: ClassVar[str] = "whatsapp"
    title: ClassVar[str] = "Connect WhatsApp Business"
    steps: ClassVar[list[type[WizardStep]]] = [ConnectStep, WebhookStep, PropertiesStep,
                                               RoutingStep, FinishStep]
