"""X-Twilio-Signature: our signing and checking agree with twilio-python's RequestValidator on
the same inputs — ports, query strings, repeated and empty parameters, non-ASCII values."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from engine.channels.calls_signature import port_variants, signature, valid

TOKEN = "12345abcdef"
FORM = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
        ("From", "+14158675309"), ("To", "+18005551212")]
URLS = [
    "https://mycompany.com/myapp.php?foo=1&bar=2",
    "https://mycompany.com:443/myapp.php?foo=1&bar=2",
    "http://desk.example/calls/3/voice",
    "http://desk.example:80/calls/3/voice",
    "http://127.0.0.1:8780/calls/3/status",
    "https://[2001:db8::1]/calls/3/voice",
]
FORMS = [
    FORM,
    [],
    [("StatusCallbackEvent", "ringing"), ("StatusCallbackEvent", "answered"), ("A", "")],
    [("b", "2"), ("a", "z"), ("a", "b")],
    [("TranscriptionText", "ça coûte 5 € — ok?"), ("From", "+33612345678")],
]


def as_dict(form: list[tuple[str, str]]):  # what the validator reads
    """A MultiDict-like object (twilio-python reads repeated names with ``getall``)."""
    class Multi(dict):
        def getall(self, name: str) -> list[str]:
            return [v for k, v in form if k == name]

    return Multi(form)


def test_the_documented_example() -> None:
    # the example of twilio-python's own tests: token 12345, this URL and form
    assert signature("12345", URLS[0], FORM) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("form", FORMS)
def test_signatures_match_twilio_python(url: str, form: list[tuple[str, str]]) -> None:
    theirs = RequestValidator(TOKEN)
    ours = signature(TOKEN, url, form, dedupe=True)
    assert ours == theirs.compute_signature(url, as_dict(form))
    assert valid(TOKEN, [url], form, ours)
    assert theirs.validate(url, as_dict(form), ours)
    # a signature made for the URL with the default port added/removed is accepted by both
    for other in port_variants(url):
        signed = theirs.compute_signature(other, as_dict(form))
        assert valid(TOKEN, [url], form, signed) == theirs.validate(url, as_dict(form), signed)


@pytest.mark.parametrize("form", FORMS)
def test_wrong_signatures_are_refused_by_both(form: list[tuple[str, str]]) -> None:
    url = URLS[2]
    theirs = RequestValidator(TOKEN)
    for bad in (signature("other-token", url, form), signature(TOKEN, url + "x", form),
                signature(TOKEN, url, [*form, ("X", "1")]), "", "not base64"):
        assert not valid(TOKEN, [url], form, bad)
        assert not theirs.validate(url, as_dict(form), bad)
    assert not valid(TOKEN, [url], form, None)
    assert not valid("", [url], form, signature("", url, form))  # no token: nothing is valid


def test_default_ports_only() -> None:
    assert port_variants("https://a.test/x") == ["https://a.test/x", "https://a.test:443/x"]
    assert port_variants("http://a.test:80/x?y=1") == ["http://a.test:80/x?y=1",
                                                       "http://a.test/x?y=1"]
    assert port_variants("https://a.test:8443/x") == ["https://a.test:8443/x"]


def test_repeated_identical_pairs_in_either_convention() -> None:
    url, form = URLS[2], [("Event", "a"), ("Event", "a"), ("Z", "1")]
    node_style = signature(TOKEN, url, form)  # every pair
    python_style = RequestValidator(TOKEN).compute_signature(url, as_dict(form))
    assert node_style != python_style
    assert valid(TOKEN, [url], form, node_style) and valid(TOKEN, [url], form, python_style)


@pytest.mark.parametrize("url", ["http://desk.example:abc/calls/3/voice",
                                 "https://desk.example:99999/calls/3/voice"])
def test_a_url_with_a_bad_port_is_refused_not_a_crash(url: str) -> None:
    assert port_variants(url) == [url]
    good = signature(TOKEN, url, FORM)
    assert valid(TOKEN, ["https://public.example/calls/3/voice", url], FORM, good)
    assert not valid(TOKEN, [url], FORM, signature("other-token", url, FORM))


def test_urls_with_a_user_keep_it() -> None:
    url = "https://user:pw@desk.example/calls/3/voice"
    assert port_variants(url) == [url]  # never a variant that drops the credentials
