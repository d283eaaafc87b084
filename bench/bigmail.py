"""Big mails for the heavy-mail benchmark and the listener-limit tests (deterministic per seed).

- :func:`html_mail`: an HTML-only newsletter-like mail (tables, links, accented text) of about
  ``size`` bytes — the kind that made ``html2text`` run for seconds;
- :func:`attachment_mail`: a short text plus a base64 attachment bringing the mail to about
  ``size`` bytes — the usual big mail (a scan, a PDF, photos).
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from email.utils import format_datetime

_WORDS = ("order delivery invoice refund bike frame wheel brake shipping customer account "
          "payment warranty parcel courier saddle chain tyre").split()


def _head(subject: str, message_id: str, to: str, ctype: str, extra: str = "") -> bytes:
    return (f"From: Big Sender <big.sender@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: <{message_id}>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {ctype}\r\n{extra}\r\n").encode()


def html_mail(size: int, *, seed: int = 3, to: str = "help@acme.test",
              message_id: str = "heavy-html@example.com", subject: str = "Newsletter") -> bytes:
    rng = random.Random(seed)
    rows = ['<html><head><meta charset="utf-8"></head><body><table>\r\n']
    n = 0
    while n < size:
        text = " ".join(rng.choice(_WORDS) for _ in range(12))
        row = (f'<tr><td><p>{text} <a href="https://example.com/p/{n}">details</a> caf\u00e9'
               f"</p></td><td><b>{n}</b></td></tr>\r\n")
        rows.append(row)
        n += len(row)
    rows.append("</table></body></html>\r\n")
    head = _head(subject, message_id, to, "text/html; charset=utf-8",
                 "Content-Transfer-Encoding: 8bit\r\n")
    return head + "".join(rows).encode()


def attachment_mail(size: int, *, seed: int = 5, to: str = "help@acme.test",
                    message_id: str = "scan@example.com", subject: str = "The scan") -> bytes:
    rng = random.Random(seed)
    data = rng.randbytes(max(0, (size - 1200) * 3 // 4))
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    head = _head(subject, message_id, to, 'multipart/mixed; boundary="=-=b0und=-="')
    return (head + b"--=-=b0und=-=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            b"Please find the scan attached.\r\n\r\n--=-=b0und=-=\r\n"
            b'Content-Type: application/pdf; name="scan.pdf"\r\n'
            b'Content-Disposition: attachment; filename="scan.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--=-=b0und=-=--\r\n")
