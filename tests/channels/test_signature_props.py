"""Property-based tests (hypothesis) of the two webhook signature checks (issue 17):
``X-Twilio-Signature`` (engine/channels/calls_signature.py) and ``X-Hub-Signature-256``
(engine/channels/meta_signature.py). For any body or parameters: signed with the secret it
verifies; any one-character or one-byte change, another secret, a missing or malformed header
is refused; and the comparison is hmac.compare_digest (constant time), never ``==``.

Signatures are computed here from the documented schemes, not with the modules' own signing
helpers, so a bug shared by both sides cannot pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from engine.channels import calls_signature, meta_signature
from engine.channels.calls_signature import port_variants, valid
from engine.channels.meta_signature import signature_ok

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# HMAC pads a short key with zero bytes, so "k" and "k\0" are the same key: secrets here hold
# no NUL (neither a Twilio auth token nor a Meta app secret does)
secret = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]),
                 min_size=1, max_size=40)
atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
host = st.builds(lambda parts: ".".join(parts), st.lists(atom, min_size=1, max_size=3))
port = st.sampled_from(["", ":443", ":80", ":8443", ":8780"])
path = st.builds(lambda parts: "/" + "/".join(parts), st.lists(atom, max_size=3))
query = st.sampled_from(["", "?turn=2", "?a=1&b=%20x"])
url = st.builds(lambda scheme, h, p, pa, q: f"{scheme}://{h}{p}{pa}{q}",
                st.sampled_from(["http", "https"]), host, port, path, query)
params = st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=6)


def twilio_signature(token: str, url: str, form: list[tuple[str, str]]) -> str:
    """Twilio's documented scheme: base64 HMAC-SHA1 of the URL and the sorted name+value pairs."""
    text = url + "".join(k + v for k, v in sorted(form))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
                            ).decode()


def meta_header(app_secret: str, body: bytes) -> str:
    """Meta's documented scheme: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def changed(text: str, at: int, other: str) -> str:
    """``text`` with the character at ``at`` (modulo its length) replaced by ``other``."""
    i = at % len(text)
    assume(text[i] != other)
    return text[:i] + other + text[i + 1:]


@contextmanager
def counting_compare_digest(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Count calls of hmac.compare_digest (the real one still answers)."""
    calls: list[int] = []
    real: Callable[..., bool] = hmac.compare_digest

    def counted(a: bytes | str, b: bytes | str) -> bool:
        calls.append(1)
        return real(a, b)

    with monkeypatch.context() as patch:
        patch.setattr(hmac, "compare_digest", counted)
        yield calls


# ------------------------------------------------------------------ X-Twilio-Signature
@FAST
@given(secret, url, params)
@example("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
          ("From", "+14158675309"), ("To", "+18005551212")])
def test_twilio_any_signed_request_verifies_with_or_without_the_default_port(
        token: str, address: str, form: list[tuple[str, str]]) -> None:
    signed = twilio_signature(token, address, form)
    assert valid(token, [address], form, signed)
    for variant in port_variants(address):  # Twilio signs with or without :443 / :80
        assert valid(token, [address], form, twilio_signature(token, variant, form))
    # behind a proxy the caller passes the public URL first, the URL it saw after
    assert valid(token, ["https://public.example/calls/1", address], form, signed)


@FAST
@given(secret, url, params, st.integers(min_value=0), st.characters(blacklist_categories=["Cs"]))
def test_twilio_one_changed_character_is_refused(token: str, address: str,
                                                 form: list[tuple[str, str]], at: int,
                                                 other: str) -> None:
    signed = twilio_signature(token, address, form)
    # in the URL
    assert not valid(token, [changed(address, at, other)], form, signed)
    # in one parameter's value (or a parameter added when there is none)
    if form:
        name, value = form[at % len(form)]
        tampered = list(form)
        tampered[at % len(form)] = (name, changed(value + "x", at, other))
        assert not valid(token, [address], tampered, signed)
    assert not valid(token, [address], [*form, ("Digits", other)], signed)
    # in the signature itself
    assert not valid(token, [address], form, changed(signed, at, "A" if other == "B" else "B"))


@FAST
@given(secret, secret, url, params)
def test_twilio_another_token_is_refused(token: str, other: str, address: str,
                                         form: list[tuple[str, str]]) -> None:
    assume(token != other)
    assert not valid(token, [address], form, twilio_signature(other, address, form))


@FAST
@given(secret, url, params, st.text(max_size=40))
@example("t", "https://a.test/x", [], "")
def test_twilio_missing_or_malformed_header_is_refused(token: str, address: str,
                                                       form: list[tuple[str, str]],
                                                       header: str) -> None:
    assume(header != twilio_signature(token, address, form))
    assert not valid(token, [address], form, header)
    assert not valid(token, [address], form, None)
    assert not valid("", [address], form, twilio_signature("", address, form))


def test_twilio_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    form = [("CallSid", "CA1")]
    good = twilio_signature("tok", "https://a.test/voice", form)
    with counting_compare_digest(monkeypatch) as calls:
        assert valid("tok", ["https://a.test/voice"], form, good)
        assert not valid("tok", ["https://a.test/voice"], form, "x" + good[1:])
    assert calls  # every candidate went through compare_digest
    assert calls_signature.hmac.compare_digest is hmac.compare_digest


# --------------------------------------------------------------- X-Hub-Signature-256
@FAST
@given(secret, st.binary(max_size=300))
@example("s3cret", b'{"a":"\\u00e4"}')
@example("s3cret", b"")
def test_meta_any_signed_body_verifies(app_secret: str, body: bytes) -> None:
    header = meta_header(app_secret, body)
    assert signature_ok(app_secret, body, header)
    assert meta_signature.sign(app_secret, body) == header  # what the Graph stand-in sends


@FAST
@given(secret, st.binary(min_size=1, max_size=300), st.integers(min_value=0),
       st.integers(min_value=1, max_value=255))
def test_meta_one_changed_byte_is_refused(app_secret: str, body: bytes, at: int,
                                          flip: int) -> None:
    header = meta_header(app_secret, body)
    i = at % len(body)
    tampered = body[:i] + bytes([body[i] ^ flip]) + body[i + 1:]
    assert not signature_ok(app_secret, tampered, header)
    assert not signature_ok(app_secret, body + b"\n", header)
    assert not signature_ok(app_secret, body[:-1], header)
    digits = header.removeprefix("sha256=")
    j = at % len(digits)
    other = "0" if digits[j] != "0" else "1"
    assert not signature_ok(app_secret, body, "sha256=" + digits[:j] + other + digits[j + 1:])


@FAST
@given(secret, secret, st.binary(max_size=300))
def test_meta_another_secret_is_refused(app_secret: str, other: str, body: bytes) -> None:
    assume(app_secret != other)
    assert not signature_ok(app_secret, body, meta_header(other, body))


@FAST
@given(secret, st.binary(max_size=100), st.text(max_size=80))
@example("s", b"{}", "sha256=")
@example("s", b"{}", "sha256")
def test_meta_missing_or_malformed_header_is_refused(app_secret: str, body: bytes,
                                                     header: str) -> None:
    assume(header.strip().lower() != meta_header(app_secret, body))
    assert not signature_ok(app_secret, body, header)
    assert not signature_ok(app_secret, body, None)
    assert not signature_ok(app_secret, body, "")
    assert not signature_ok("", body, meta_header("", body))  # no secret: nothing verifies
    digits = meta_header(app_secret, body).removeprefix("sha256=")
    for wrong in (digits, "sha1=" + digits, "SHA256=" + digits, "sha256:" + digits,
                  "sha256=" + digits[:-1], "sha256=" + digits + "0",
                  "sha256=" + hashlib.sha256(body).hexdigest()):  # no key at all
        assert not signature_ok(app_secret, body, wrong)


def test_meta_hex_digits_in_either_case_and_surrounding_space_verify() -> None:
    header = meta_header("s3cret", b"{}")
    assert signature_ok("s3cret", b"{}", "sha256=" + header.removeprefix("sha256=").upper())
    assert signature_ok("s3cret", b"{}", header + " ")
    assert signature_ok("s3cret", b"{}", "sha256= " + header.removeprefix("sha256="))


def test_meta_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    header = meta_header("s3cret", b"{}")
    with counting_compare_digest(monkeypatch) as calls:
        assert signature_ok("s3cret", b"{}", header)
        assert not signature_ok("s3cret", b"{}", header[:-1] + "x")
    assert len(calls) == 2
    assert meta_signature.hmac.compare_digest is hmac.compare_digest
