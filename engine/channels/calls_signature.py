"""``X-Twilio-Signature``: how Twilio signs its webhooks, and checking it.

The signature is ``base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 …))`` over
the full URL Twilio requested (query string included) and the form parameters sorted by name
(repeated names: their values sorted too). Twilio's own validator tries the URL with and
without the default port (``:443`` / ``:80``) because Twilio signs inconsistently; so do we.
Behind a proxy the URL is rebuilt from the engine's ``public_url`` (the caller passes the
candidates). GET webhooks carry their parameters in the URL and sign nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

Params = Sequence[tuple[str, str]]


def signature(token: str, url: str, params: Params = (), *, dedupe: bool = False) -> str:
    """The signature Twilio sends for ``url`` with form ``params``. ``dedupe``: a repeated
    identical pair counts once (how twilio-python's validator builds the string; twilio-node
    keeps every pair) — :func:`valid` accepts either."""
    pairs = sorted(set(params)) if dedupe else sorted(params)
    text = url + "".join(name + value for name, value in pairs)
    digest = hmac.new(token.encode(), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def port_variants(url: str) -> list[str]:
    """``url`` as given, plus with its default port added or removed (Twilio's inconsistency).

    A URL whose port is no number (or out of range): ``url`` alone — the check then refuses
    (403) instead of raising."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return [url]
    if parts.username or default is None:
        return [url]
    if port is None:
        other = urlunsplit(parts._replace(netloc=f"{host}:{default}"))
    elif port == default:
        other = urlunsplit(parts._replace(netloc=host))
    else:
        return [url]
    return [url, other]


def valid(token: str, urls: Iterable[str], params: Params, given: str | None) -> bool:
    """Whether ``given`` signs ``params`` for one of ``urls`` (each with and without its
    default port; repeated pairs counted either way), compared in constant time."""
    if not given or not token:
        return False
    variants = dict.fromkeys(v for url in urls for v in port_variants(url))  # each once, in order
    wanted = given.encode()
    return any(hmac.compare_digest(mine.encode(), wanted)
               for url in variants
               for mine in {signature(token, url, params), signature(token, url, params,
                                                                     dedupe=True)})
