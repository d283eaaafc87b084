"""Deterministic, varied, realistic raw emails for the benchmarks.

Mix (by default): ~70 % plain text, ~22 % multipart/alternative (text + HTML), ~5 % with an
attachment, ~3 % HTML only; charsets utf-8, iso-8859-1, windows-1252, koi8-r, shift_jis and
gb2312 in quoted-printable, base64 and 8bit; encoded-word subjects and names; a few
``Received``/DKIM headers like real mail; about a third are customer replies whose
``In-Reply-To``/``References`` point at an earlier mail of the same conversation.

Words follow a Zipf–Mandelbrot distribution over :data:`VOCAB`, so the search benchmark has
common, medium and rare terms to look for.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

SUPPORT_WORDS = (
    "invoice refund password login error printer order shipping delivery account billing "
    "subscription upgrade downgrade cancel charge payment receipt crash bug install update "
    "license server timeout network wifi email calendar export import report dashboard "
    "mobile android iphone browser chrome firefox safari windows linux macos backup restore "
    "sync upload download attachment invoice discount coupon warranty return exchange "
    "broken missing damaged late urgent question help please thanks customer ticket "
    "contract renewal quote pricing trial migration integration webhook token api key "
    "permission access locked reset verify phone address tracking parcel courier"
).split()
FILLER = (
    "the a to and of in is it you that we for on this with have be not are as at your "
    "can but all if my was our so would could there when what which will just from about "
    "also been some any more other only than then them very after again before still"
).split()
FIRST = ("Anna Ben Carla David Emma Felix Greta Hugo Ines Jonas Klara Lukas Mia Noah Olga "
         "Paul Rosa Sven Tara Uwe Vera Willi Yara Zoe Jürgen Søren Zoë Ольга Иван 陽子 太郎").split()
LAST = ("Smith Müller García Rossi Dubois Kowalski Novak Jensen Silva Tanaka Chen Ivanov "
        "Nguyen Öztürk Brown Wilson Schäfer Łukasz Petrov 田中 佐藤").split()
DOMAINS = ("example.com example.org mail.test corp.example shop.example gmx.example "
           "web.example outlook.example gmail.example").split()
RUSSIAN = "принтер не работает пожалуйста помогите заказ счёт оплата доставка ошибка".split()
JAPANESE = "プリンター が 動きません 注文 請求書 支払い 配送 エラー お願いします".split()
CHINESE = "打印机 无法 工作 订单 发票 付款 送货 错误 请 帮助".split()

CHARSETS = [  # (charset, transfer encoding, weight)
    ("utf-8", "quoted-printable", 30), ("utf-8", "8bit", 20), ("utf-8", "base64", 10),
    ("iso-8859-1", "quoted-printable", 12), ("windows-1252", "quoted-printable", 8),
    ("us-ascii", "7bit", 10), ("koi8-r", "base64", 4), ("shift_jis", "base64", 3),
    ("gb2312", "base64", 3),
]


def _vocab(rng: random.Random, size: int = 6000) -> list[str]:
    """Support words first (the common ones), then pronounceable made-up product words."""
    cons, vows = "bcdfghklmnprstvz", "aeiou"
    words = list(dict.fromkeys(SUPPORT_WORDS))
    seen = set(words)
    while len(words) < size:
        w = "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


VOCAB = _vocab(random.Random(7))
# Zipf–Mandelbrot cumulative weights: word i has weight 1/(i+8), so the most common word is
# in ~40 % of messages, rank 100 in ~5 %, rank 3000 in ~0.2 % (pure 1/(i+1) put the top word
# in 92 % of messages — no support word is that common)
_CUM: list[float] = []
_acc = 0.0
for _i in range(len(VOCAB)):
    _acc += 1.0 / (_i + 8)
    _CUM.append(_acc)


def words(rng: random.Random, n: int) -> list[str]:
    out = rng.choices(VOCAB, cum_weights=_CUM, k=n)
    fill = rng.choices(FILLER, k=n)
    return [w if rng.random() < 0.45 else f for w, f in zip(out, fill, strict=True)]


def _sentence(rng: random.Random) -> str:
    ws = words(rng, rng.randint(6, 16))
    return " ".join(ws).capitalize() + rng.choice([".", ".", ".", "?", "!"])


def _text(rng: random.Random, charset: str) -> str:
    paras = []
    for _ in range(rng.randint(1, 4)):
        paras.append(" ".join(_sentence(rng) for _ in range(rng.randint(1, 4))))
    if charset == "koi8-r":
        paras.insert(0, " ".join(rng.choices(RUSSIAN, k=8)).capitalize() + ".")
    elif charset == "shift_jis":
        paras.insert(0, "".join(rng.choices(JAPANESE, k=8)) + "。")
    elif charset == "gb2312":
        paras.insert(0, "".join(rng.choices(CHINESE, k=8)) + "。")
    elif charset in ("iso-8859-1", "windows-1252", "utf-8") and rng.random() < 0.5:
        paras.insert(0, rng.choice(["Grüße aus Köln, ", "Señor, ", "Très urgent : ", "Hej på dig, "])
                     + _sentence(rng))
    paras.append(rng.choice(["Thanks,", "Best regards,", "Cheers,", "Mit freundlichen Grüßen,"]))
    return "\n\n".join(paras)


def _encode_body(text: str, charset: str, cte: str) -> bytes:
    data = text.replace("\n", "\r\n").encode(charset, "replace")
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    if cte == "base64":
        return base64.encodebytes(data)
    return data


def _encoded_word(value: str) -> str:
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        return "=?utf-8?b?" + base64.b64encode(value.encode()).decode() + "?="


def _html(text: str) -> str:
    paras = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return (f'<html><head><meta charset="utf-8"><style>p{{margin:0}}</style></head>'
            f'<body><div dir="ltr">{paras}</div></body></html>')


class Mailgen:
    """``Mailgen(seed).mails(n)`` → ``n`` raw messages (bytes), deterministic per seed."""

    def __init__(self, seed: int = 1, to: str = "help@acme.test") -> None:
        self.rng = random.Random(seed)
        self.to = to
        self.start = datetime(2024, 1, 1, tzinfo=UTC)

    def _person(self, i: int) -> tuple[str, str]:
        r = random.Random(i * 7919)
        first, last = r.choice(FIRST), r.choice(LAST)
        local = f"{r.choice(['', 'x', 'mr', 'the'])}{i:x}.{r.randint(1, 99)}"
        return f"{first} {last}", f"{local}@{r.choice(DOMAINS)}"

    def mails(self, n: int) -> list[bytes]:
        return list(self.iter_mails(n))

    def iter_mails(self, n: int) -> Iterator[bytes]:
        rng = self.rng
        n_contacts = max(1, n // 3)
        convs: list[tuple[int, str, list[str]]] = []  # (contact, subject, msgids)
        for i in range(n):
            when = self.start + timedelta(seconds=i * 37 + rng.randint(0, 30))
            msgid = f"<{i:x}.{rng.getrandbits(40):x}@{rng.choice(DOMAINS)}>"
            if convs and rng.random() < 0.33:
                conv = convs[rng.randrange(max(0, len(convs) - 2000), len(convs))]
                contact, subject, chain = conv
                subject = subject if subject.lower().startswith("re:") else "Re: " + subject
                headers_extra = [f"In-Reply-To: {chain[-1]}",
                                 "References: " + " ".join(chain[-8:])]
                chain.append(msgid)
            else:
                contact = rng.randrange(n_contacts)
                subject = " ".join(words(rng, rng.randint(3, 8))).capitalize()
                if rng.random() < 0.1:
                    subject = rng.choice(["Problème de ", "Frage zur ", "Консультация: "]) + subject
                convs.append((contact, subject, [msgid]))
                headers_extra = []
            name, addr = self._person(contact)
            yield self._mail(rng, name, addr, subject, msgid, when, headers_extra)

    def _mail(self, rng: random.Random, name: str, addr: str, subject: str, msgid: str,
              when: datetime, extra: list[str]) -> bytes:
        charset, cte, _ = rng.choices(CHARSETS, weights=[c[2] for c in CHARSETS])[0]
        text = _text(rng, charset)
        if charset == "us-ascii":
            text = text.encode("ascii", "ignore").decode()
        hops = [
            f"Received: from mx{rng.randint(1, 9)}.{addr.split('@')[1]} "
            f"(mx.{addr.split('@')[1]} [192.0.2.{rng.randint(1, 254)}])\r\n\tby mail.acme.test "
            f"with ESMTPS id {rng.getrandbits(48):x}\r\n\tfor <{self.to}>; {format_datetime(when)}"
            for _ in range(rng.randint(1, 3))
        ]
        head = [
            f"Return-Path: <{addr}>",
            *hops,
            f"From: {_encoded_word(name)} <{addr}>",
            f"To: ACME Support <{self.to}>",
            f"Subject: {_encoded_word(subject)}",
            f"Date: {format_datetime(when)}",
            f"Message-ID: {msgid}",
            *extra,
            "MIME-Version: 1.0",
        ]
        if rng.random() < 0.3:
            head.insert(1, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d="
                        + addr.split("@")[1] + "; s=s1;\r\n\th=from:to:subject:date;\r\n\tb="
                        + base64.b64encode(rng.randbytes(128)).decode())
        kind = rng.random()
        if kind < 0.70:
            head += [f'Content-Type: text/plain; charset="{charset}"',
                     f"Content-Transfer-Encoding: {cte}"]
            body = _encode_body(text, charset, cte)
        elif kind < 0.92:
            b = f"=_alt_{rng.getrandbits(32):x}"
            head.append(f'Content-Type: multipart/alternative; boundary="{b}"')
            body = self._multipart(b, [
                (f'text/plain; charset="{charset}"', cte, _encode_body(text, charset, cte)),
                ('text/html; charset="utf-8"', "quoted-printable",
                 _encode_body(_html(text), "utf-8", "quoted-printable")),
            ])
        elif kind < 0.97:
            b = f"=_mix_{rng.getrandbits(32):x}"
            head.append(f'Content-Type: multipart/mixed; boundary="{b}"')
            fname = rng.choice(["screenshot.png", "invoice.pdf", "log.txt", "Rechnung März.pdf"])
            ctype = {"png": "image/png", "pdf": "application/pdf", "txt": "text/plain"}[
                fname.rsplit(".", 1)[1]]
            data = rng.randbytes(rng.randint(2_000, 40_000))
            body = self._multipart(b, [
                (f'text/plain; charset="{charset}"', cte, _encode_body(text, charset, cte)),
                (f'{ctype}; name="{_encoded_word(fname)}"', "base64", base64.encodebytes(data),
                 f'attachment; filename="{_encoded_word(fname)}"'),
            ])
        else:
            head += ['Content-Type: text/html; charset="utf-8"',
                     "Content-Transfer-Encoding: quoted-printable"]
            body = _encode_body(_html(text), "utf-8", "quoted-printable")
        return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body.replace(b"\n", b"\r\n") \
            .replace(b"\r\r\n", b"\r\n")

    @staticmethod
    def _multipart(boundary: str, parts: list[tuple]) -> bytes:
        out = [b"This is a multi-part message in MIME format.\r\n"]
        for part in parts:
            ctype, cte, payload = part[0], part[1], part[2]
            disp = part[3] if len(part) > 3 else None
            out.append(f"--{boundary}\r\nContent-Type: {ctype}\r\n"
                       f"Content-Transfer-Encoding: {cte}\r\n".encode())
            if disp:
                out.append(f"Content-Disposition: {disp}\r\n".encode())
            out.append(b"\r\n" + payload.rstrip(b"\r\n") + b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return b"".join(out)
