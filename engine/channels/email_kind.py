"""What the email kind tells generic code: pure functions, no I/O, no secrets.

The desk plans a reply through :func:`prepare_reply` (Message-ID fixed at queue time,
In-Reply-To/References from the ticket's thread, the ``Re: … [#N]`` subject, the customer's
Reply-To first); the ticket screen shows :func:`signature_preview` and :func:`composer_spec`;
the channels screen and ``ticketty channels list`` show :func:`address_of`; received mail and
quarantine retries go through :func:`attribute`. The adapter
(:class:`engine.channels.email.EmailAdapter`) exposes them as its class hooks.
"""

from __future__ import annotations

from engine.channels.contract import ComposerSpec, ReplyContext, ReplyPlan
from engine.channels.email_compose import make_message_id, render_signature, reply_subject
from engine.channels.email_forward import attribute_forwarded
from engine.channels.email_settings import EmailSettings
from engine.models import Channel, InboundMessage, Ticket

#: our Message-IDs' domain when no channel address gives one
NO_DOMAIN = "ticketty.invalid"
MAX_REFERENCES = 20  # References carried in the payload: the newest ones


def _domain(address: object) -> str:
    text = str(address or "")
    return text.split("@", 1)[1] if "@" in text else NO_DOMAIN


def prepare_reply(ctx: ReplyContext) -> ReplyPlan:
    """An agent's reply as the email kind sends it.

    The Message-ID is the one :func:`~engine.channels.email_compose.compose_reply` derives
    from the outbox key, fixed now so a resend reuses it and a customer's answer to it threads
    back; In-Reply-To is the customer's latest Message-ID (else the thread's newest id);
    the reply goes to the customer's latest Reply-To, else their email address.
    """
    address = ctx.channel.settings.get("address") if ctx.channel is not None else None
    msgid = make_message_id(ctx.ticket_id, ctx.message_id, ctx.key, _domain(address))
    refs = list(ctx.thread_ids)
    last_in = next((i for i in ctx.inbound_ids if i.startswith("<")), None)
    payload = {
        "to": ctx.reply_to or ctx.identity("email"),
        "subject": reply_subject(ctx.subject, ctx.ticket_id), "text": ctx.body,
        "html": ctx.html, "message_id_header": msgid,
        "in_reply_to": last_in or (refs[-1] if refs else None),
        "references": refs[-MAX_REFERENCES:], "agent_name": ctx.agent_name,
        "agent_email": ctx.agent_email, "ticket_id": ctx.ticket_id,
    }
    return ReplyPlan(payload=payload, external_id=msgid, thread_ids=(msgid,))


def attribute(msg: InboundMessage, settings: EmailSettings, trusted: set[str]) -> InboundMessage:
    """Mail forwarded in by one of ``trusted`` (our agents, the channel itself) credited to
    the original sender found in the forwarded block, when the channel says so."""
    return attribute_forwarded(msg, use_original_sender=settings.use_original_sender,
                               trusted_addresses=trusted)


def signature_preview(channel: Channel, agent_name: str) -> str:
    """The channel's plain signature with the agent's name filled in."""
    return render_signature(str(channel.settings.get("signature") or ""), agent_name)


def composer_spec(channel: Channel | None, ticket: Ticket) -> ComposerSpec:
    """A mail has the subject every reply on the ticket goes out with and no reply window.
    No attachments: a reply from the desk carries none yet."""
    return ComposerSpec(has_subject=True, subject=reply_subject(ticket.subject, ticket.id or 0))


def address_of(channel: Channel) -> str:
    """The address, and for forwarding where mail must be sent: the address the running
    listener reported (health ``listening``), else the configured one."""
    s = EmailSettings.model_validate(channel.settings)
    if s.mode != "forwarding":
        return s.address
    listening = channel.health.get("listening")
    if listening:
        return f"{s.address} (forward to smtp://{listening})"
    host = f"[{s.forward_listen_host}]" if ":" in s.forward_listen_host \
        else s.forward_listen_host
    if not s.forward_listen_port:
        return f"{s.address} (not listening yet; any free port on {host})"
    return f"{s.address} (not listening yet; will listen on smtp://{host}:{s.forward_listen_port})"
