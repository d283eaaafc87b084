"""Kinds of contact identity (email, phone, page-scoped id …) and how each one behaves.

A message says who sent it with ``InboundMessage.sender_kind``; a channel kind says what its
customers are known by with its registry entry's ``identity_kind``. Ingest, the CLI and the
reply hooks ask this table how such an identity behaves instead of comparing kind names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdentityKind:
    """How one kind of identity behaves.

    ``casefold``: values compare without case (email addresses), so they are stored lower-case.
    ``is_address``: the value is an email address — an author's ``author_email``.
    ``keys_thread``: a message's key from such a sender is an id later messages refer to
    (a Message-ID, answered with In-Reply-To/References), so ingest records it for threading.
    """

    name: str
    casefold: bool = False
    is_address: bool = False
    keys_thread: bool = False

    def normalize(self, value: str) -> str:
        """The value as stored and looked up."""
        return value.strip().lower() if self.casefold else value.strip()


EMAIL = IdentityKind("email", casefold=True, is_address=True, keys_thread=True)

IDENTITY_KINDS: dict[str, IdentityKind] = {
    k.name: k for k in (EMAIL, IdentityKind("phone"), IdentityKind("psid"),
                        IdentityKind("wa_id"), IdentityKind("visitor"), IdentityKind("other"))
}


def identity(name: str) -> IdentityKind:
    """The identity kind called ``name`` (an unknown name behaves like ``other``)."""
    return IDENTITY_KINDS.get(name) or IdentityKind(name)
