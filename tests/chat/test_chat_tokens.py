"""Visitor tokens: a browser proves which visitor it is, and nobody can claim another visitor's
chats — a forged, altered, unsigned or oversized token proves nobody; a token issued before an
upgrade still proves the same visitor (it lives in browsers' localStorage)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from engine.channels.chat_tokens import is_visitor_id, new_visitor_id, sign, verify

SECRET = "visitor-Secret-0123456789"
VISITOR = "vAbCdEfGhIjKlMnOpQrStUv"  # "v" + 22 URL-safe characters


def expected_token(secret: str, visitor: str) -> str:
    """The documented scheme, written out independently of the module."""
    digest = hmac.new(secret.encode(), b"ticketty-visitor:" + visitor.encode(),
                      hashlib.sha256).digest()
    return visitor + "." + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_new_visitor_ids_are_well_formed_and_distinct() -> None:
    ids = {new_visitor_id() for _ in range(200)}
    assert len(ids) == 200
    for visitor in ids:
        assert len(visitor) == 23 and visitor[0] == "v" and is_visitor_id(visitor)


@pytest.mark.parametrize(("value", "ok"), [
    (VISITOR, True),
    ("v" + "-_09azAZ" * 2 + "abcdef", True),
    ("x" + VISITOR[1:], False),          # the prefix
    (VISITOR[:-1], False),               # one short
    (VISITOR + "A", False),              # one long
    (VISITOR[:-1] + ".", False),         # not URL-safe base64
    (VISITOR[:-1] + "=", False),
    (" " + VISITOR, False),
    (VISITOR + "\n", False),
    ("", False),
])
def test_visitor_id_shape(value: str, ok: bool) -> None:
    assert is_visitor_id(value) is ok


def test_is_visitor_id_of_nothing() -> None:
    assert is_visitor_id(None) is False  # type: ignore[arg-type]  # a missing query parameter


def test_tokens_follow_the_documented_scheme_and_verify() -> None:
    token = sign(SECRET, VISITOR)
    assert token == expected_token(SECRET, VISITOR)  # browsers keep tokens across upgrades
    assert verify(SECRET, token) == VISITOR
    fresh = new_visitor_id()
    assert verify(SECRET, sign(SECRET, fresh)) == fresh


def test_forged_altered_and_missing_tokens_prove_nobody() -> None:
    token = sign(SECRET, VISITOR)
    visitor, _, mac = token.partition(".")
    other = "vZZZZZZZZZZZZZZZZZZZZZZ"
    refused = [
        None, "", VISITOR, VISITOR + ".", token + "x", token[:-1],
        f"{other}.{mac}",                            # someone else's id with my signature
        sign("another-secret", VISITOR),             # another channel's secret
        f"{visitor}.{mac[::-1]}",                    # the signature reversed
        "x" * 300,
        f"{visitor[:-1]}.{mac}",                     # a malformed id
    ]
    for bad in refused:
        assert verify(SECRET, bad) is None, bad
    assert verify("", expected_token("", VISITOR)) is None  # no secret: nothing verifies


def test_oversized_tokens_are_refused() -> None:
    token = sign(SECRET, VISITOR)
    assert verify(SECRET, token + "." + "A" * 200) is None
    assert verify(SECRET, token.ljust(201, "A")) is None
