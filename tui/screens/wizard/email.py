"""The team email wizard: the seven steps of ``:connect email``.

1. Mailbox — Gmail, Office 365 (servers filled in), another IMAP+SMTP server, or forwarding to
   ticketty's own SMTP listener (the address to forward to is shown).
2. Credentials — IMAP and SMTP logins, then a real connection test; what failed is shown
   beside the field and in words.
3. Details — sender name mode, company, from address, signature with a token inserter and a
   live preview of a reply (plain or HTML).
4. Ticket properties — 5. Routing — shared with every kind (:mod:`tui.widgets.channel_forms`).
6. History — none / all / since a date, into a chosen status, with a progress bar. The channel
   is saved (disabled) here so imported tickets belong to it.
7. Connect and finish — the channel is enabled and starts receiving.

Every field is rendered from :class:`engine.channels.email_settings.EmailSettings`. This module
only lists the steps: 1-2 live in :mod:`tui.screens.wizard.email_connect`, 3-7 in
:mod:`tui.screens.wizard.email_details`.
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
    forward_target,
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

__all__ = ["DETAIL_FIELDS", "IMAP_FIELDS", "PRESETS", "PROVIDERS", "SAMPLE_TEXT", "SMTP_FIELDS",
           "TOKENS", "CredentialsStep", "DetailsStep", "EmailWizard", "FinishStep", "HistoryStep",
           "MailboxStep", "PropertiesStep", "RoutingStep", "forward_target", "merged", "sketch"]


class EmailWizard(Wizard):
    kind = "email"
    title = "Connect team email"
    steps = [MailboxStep, CredentialsStep, DetailsStep, PropertiesStep, RoutingStep,
             HistoryStep, FinishStep]
