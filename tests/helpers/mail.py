"""Small RFC 5322 messages for the email tests."""

from __future__ import annotations

import email.utils
from email.message import EmailMessage


def mail(subject: str, frm: str = "Carla Customer <carla@example.com>", body: str = "Hello",
         msgid: str | None = None, to: str = "help@acme.test", **headers: str) -> bytes:
    """A plain-text message; ``headers`` add more (``In_Reply_To`` → ``In-Reply-To``)."""
    m = EmailMessage()
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = msgid or email.utils.make_msgid(domain="example.com")
    m["Date"] = headers.pop("Date", None) or email.utils.formatdate()
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content(body)
    return m.as_bytes()
