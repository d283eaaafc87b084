"""Meta's ``GET`` webhook verification (the ``hub.*`` handshake): the challenge is echoed only
for ``hub.mode=subscribe`` with the channel's verify token; anything else is refused (None →
403) — a missing token, another mode, a channel without a verify token, or a near miss."""

from __future__ import annotations

import pytest

from engine.channels.meta_signature import handshake

VERIFY = "verify-Token-abcdef"


def request(**params: str) -> dict[str, str]:
    base = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    base.update(params)
    return {k: v for k, v in base.items() if v != "<absent>"}


def test_the_right_request_gets_its_challenge_back() -> None:
    assert handshake(request(), VERIFY) == "1158201444"


def test_a_right_request_without_a_challenge_gets_an_empty_answer() -> None:
    assert handshake(request(**{"hub.challenge": "<absent>"}), VERIFY) == ""


@pytest.mark.parametrize("params", [
    request(**{"hub.mode": "unsubscribe"}),
    request(**{"hub.mode": "<absent>"}),
    request(**{"hub.mode": "Subscribe"}),
    request(**{"hub.verify_token": "<absent>"}),
    request(**{"hub.verify_token": ""}),
    request(**{"hub.verify_token": VERIFY + "x"}),
    request(**{"hub.verify_token": VERIFY[:-1]}),
    request(**{"hub.verify_token": VERIFY.upper()}),
])
def test_wrong_requests_are_refused(params: dict[str, str]) -> None:
    assert handshake(params, VERIFY) is None


@pytest.mark.parametrize("params", [request(**{"hub.verify_token": "<absent>"}),
                                    request(**{"hub.verify_token": ""}),
                                    request(**{"hub.mode": "other", "hub.verify_token": ""})])
def test_a_channel_without_a_verify_token_refuses_everything(params: dict[str, str]) -> None:
    assert handshake(params, "") is None
