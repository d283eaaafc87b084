"""The forms channel's fill token: what the page carries and the submission brings back — the
nonce (the submission's idempotency key) and the time the page was made, signed with the
channel's key. Tokens of another key, altered or malformed, prove nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from engine.channels.forms_guard import FillToken, issue, new_key, verify

KEY = b"form-Key-0123456789"


def mac(key: bytes, body: str) -> str:
    """The documented signature, written out independently of the module."""
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()[:18]
                                    ).decode()


def test_a_token_is_nonce_time_and_signature() -> None:
    token = issue(KEY, 1764493200.25, nonce="n0nce-Abc_123")
    assert token == "n0nce-Abc_123.1764493200.250." + mac(KEY, "n0nce-Abc_123.1764493200.250")
    assert verify(KEY, token) == FillToken("n0nce-Abc_123", 1764493200.25)


def test_the_time_is_kept_to_the_millisecond() -> None:
    assert verify(KEY, issue(KEY, 1000.0004, nonce="a")) == FillToken("a", 1000.0)
    assert verify(KEY, issue(KEY, 1000.0006, nonce="a")) == FillToken("a", 1000.001)
    assert verify(KEY, issue(KEY, 0.0, nonce="a")) == FillToken("a", 0.0)


def test_fresh_nonces_differ_and_verify() -> None:
    tokens = [issue(KEY, 5.0) for _ in range(50)]
    nonces = {verify(KEY, t).nonce for t in tokens}  # type: ignore[union-attr]
    assert len(nonces) == 50
    for nonce in nonces:
        assert len(nonce) == 16 and "." not in nonce


def test_a_page_shown_again_keeps_its_nonce_and_time() -> None:
    first = verify(KEY, issue(KEY, 100.0))
    assert first is not None
    again = verify(KEY, issue(KEY, first.issued_at, first.nonce))
    assert again == first


@pytest.mark.parametrize("bad", [
    "", "a.b.c", "a.b.c.d.e", "...", "n.1.0", "n.1.0." + mac(KEY, "n.1.1"),
    "n.1.0." + mac(b"other key", "n.1.0"), "n.1.0." + mac(KEY, "n.1.0") + "A",
    "m.1.0." + mac(KEY, "n.1.0"),
])
def test_altered_or_foreign_tokens_prove_nothing(bad: str) -> None:
    assert verify(KEY, bad) is None


def test_a_signed_token_without_a_time_proves_nothing() -> None:
    # only a holder of the key can make one; even so it is refused, not a crash
    assert verify(KEY, "n.soon.later." + mac(KEY, "n.soon.later")) is None
    assert verify(KEY, "n.1.x" + "." + mac(KEY, "n.1.x")) is None


def test_missing_token() -> None:
    assert verify(KEY, None) is None  # type: ignore[arg-type]  # a submission without _token


def test_keys_are_random_and_long() -> None:
    keys = {new_key() for _ in range(20)}
    assert len(keys) == 20 and all(len(k) == 43 for k in keys)
