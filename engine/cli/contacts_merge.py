"""``ticketty contacts merge A B``: one person known as two contacts becomes one.

Meta gives no email address, so someone writing to two Pages (or on Messenger and by mail) is
two contacts; merging moves B's identities, tickets, messages and consent records to A and
removes B. A contact is named by its id, an email address, or ``KIND:VALUE`` (``psid:…``,
``phone:+4915…``; a phone number alone also works).
"""

from __future__ import annotations

import argparse

from engine.cli.common import CLIError, Context, emit
from engine.identities import IDENTITY_KINDS


async def find_contact(ctx: Context, ref: str) -> int:
    """The contact ``ref`` names (id, email, ``kind:value`` or a phone number)."""
    text = ref.strip()
    if text.isdigit() and await ctx.store.contact(int(text)) is not None:
        return int(text)
    kind, sep, value = text.partition(":")
    tries: list[tuple[str, str]] = []
    if sep and kind in IDENTITY_KINDS:
        tries.append((kind, value))
    if "@" in text:
        tries.append(("email", text))
    from engine.phones import PhoneError, normalize_phone

    try:
        tries.append(("phone", normalize_phone(value if sep and kind == "phone" else text)))
    except PhoneError:
        pass
    for k, v in tries:
        found = await ctx.store.contact_id_by_identity(k, v)
        if found is not None:
            return int(found)
    raise CLIError(f"no contact {ref!r} (an id, an email address, a phone number or KIND:VALUE"
                   " such as psid:1234)")


async def cmd_contacts_merge(ctx: Context) -> int:
    ctx.require_admin("merging contacts")
    keep = await find_contact(ctx, ctx.args.a)
    other = await find_contact(ctx, ctx.args.b)
    if keep == other:
        raise CLIError(f"{ctx.args.a!r} and {ctx.args.b!r} are already the same contact")
    await ctx.store.merge_contacts(keep, other)
    contact = await ctx.store.contact(keep)
    data = {"contact_id": keep, "merged": other, "name": contact.name if contact else "",
            "emails": contact.emails if contact else [],
            "phones": contact.phones if contact else [],
            "identities": contact.identities if contact else {}}
    emit(ctx, data, f"contact {other} merged into contact {keep}")
    return 0


def add_parser(s: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``contacts merge A B`` under the ``contacts`` command."""
    me = s.add_parser("merge", parents=[common],
                      help="merge contact B into contact A (admins): one person, two contacts")
    me.add_argument("a", metavar="A", help="the contact kept: id, email, phone or KIND:VALUE")
    me.add_argument("b", metavar="B", help="the contact merged into A and removed")
    me.set_defaults(run=cmd_contacts_merge)
