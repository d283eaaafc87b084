"""The team email wizard: the steps of ``:connect email``.

1. Mailbox — Gmail, Microsoft 365 (servers filled in), another IMAP+SMTP server, or forwarding
   to ticketty's own SMTP listener.
2. Listener (forwarding only) — where the listener accepts mail, and in plain words what to set
   up for it: the firewall opening, an MX record or a routing rule.
3. Sign in (Gmail, Microsoft 365) — signing in instead of a password; the refresh token is
   kept as a secret setting. Or Credentials — IMAP and SMTP log-ins. Either ends in a real
   connection test; what failed is shown beside the field and in words.
4. Details — sender name mode, company, from address, signature with a token inserter and a
   live preview of a reply (plain or HTML).
5. Ticket properties — 6. Routing — shared with every kind (:mod:`tui.widgets.channel_forms`).
7. History — none / all / since a date, into a chosen status, with a progress bar. The channel
   is saved (disabled) here so imported tickets belong to it.
8. Connect and finish — the channel is enabled and starts receiving.

Every field is rendered from :class:`engine.channels.email_settings.EmailSettings`. This module
only lists the steps: the mailbox and credentials live in :mod:`.email_connect`, the listener in
:mod:`.email_listener`, the sign-in in :mod:`.email_signin`, the rest in :mod:`.email_details`.
"""

from __future__ import annotations

from tui.screens.wizard.base import Wizard
from tui.screens.wizard.email_connect import (
    IMAP_FIELDS,
    PRESETS,
    PROVIDERS,
    SMTP_FIELDS,
    CredentialsStep,
    MailboxStep,
    merged,
)
from tui.screens.wizard.email_details import (
    DETAIL_FIELDS,
    SAMPLE_TEXT,
    TOKENS,
    DetailsStep,
    FinishStep,
    HistoryStep,
    PropertiesStep,
    RoutingStep,
    sketch,
)
from tui.screens.wizard.email_listener import ListenerStep
from tui.screens.wizard.email_signin import SignInStep

__all__ = ["DETAIL_FIELDS", "IMAP_FIELDS", "PRESETS", "PROVIDERS", "SAMPLE_TEXT", "SMTP_FIELDS",
           "TOKENS", "CredentialsStep", "DetailsStep", "EmailWizard", "FinishStep", "HistoryStep",
           "ListenerStep", "MailboxStep", "PropertiesStep", "RoutingStep", "SignInStep", "merged",
           "sketch"]


class EmailWizard(Wizard):
    kind = "email"
    title = "Connect team email"
    steps = [MailboxStep, ListenerStep, SignInStep, CredentialsStep, DetailsStep, PropertiesStep,
             RoutingStep, HistoryStep, FinishStep]
