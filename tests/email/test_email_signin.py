"""Signing in to a mailbox (device code, browser + loopback, pasted address) against the local
OAuth stand-in, then XOAUTH2 with the token it granted against a real aiosmtpd server."""

from __future__ import annotations

import httpx
import pytest

from engine.channels.email_oauth import OAuthError, OAuthTokenProvider
from engine.channels.email_settings import EmailSettings
from engine.channels.email_signin import (
    BrowserSignIn,
    SignInError,
    method_for,
    poll_device_code,
    request_device_code,
)
from engine.channels.smtp_sender import send_mail


def signin_settings(provider, kind: str = "office365", **more) -> EmailSettings:
    return EmailSettings(address="help@acme.test", mode="forwarding", smtp_host="127.0.0.1",
                         smtp_port=25, smtp_security="none", oauth_provider=kind,
                         **{**provider.settings(), **more})


async def test_device_code_sign_in_then_smtp_xoauth2(oauth_standin, xoauth2_smtp):
    handler, port = xoauth2_smtp
    s = signin_settings(oauth_standin)
    assert method_for(s) == "device"
    code = await request_device_code(s)
    assert code.verification_uri == oauth_standin.verification_url and code.user_code

    async def user_signs_in_after_a_while(seconds: float) -> None:
        import asyncio

        polls = [r for r in oauth_standin.requests if r[1] == "/token"]
        if len(polls) == 2:  # the admin is still typing: two "pending" answers first
            async with httpx.AsyncClient() as browser:
                page = await browser.get(code.verification_uri,
                                         params={"user_code": code.user_code})
            assert page.status_code == 200
        await asyncio.sleep(seconds)

    tokens = await poll_device_code(s, code, sleep=user_signs_in_after_a_while)
    assert tokens.refresh_token in oauth_standin.refresh_tokens
    assert len([r for r in oauth_standin.requests if r[1] == "/token"]) == 3
    grant = oauth_standin.requests[-1][2]
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert "IMAP.AccessAsUser.All" in oauth_standin.requests[0][2]["scope"]

    # the stored refresh token is what XOAUTH2 runs on from now on
    signed_in = s.model_copy(update={"oauth_refresh_token": tokens.refresh_token,
                                     "smtp_port": port})
    raw = b"From: help@acme.test\r\nTo: ana@customer.test\r\nSubject: Hi\r\n\r\nHello\r\n"
    await send_mail(signed_in, raw, recipients=["ana@customer.test"],
                    token_getter=OAuthTokenProvider(signed_in))
    assert handler.logins == [("help@acme.test", True)]
    assert handler.messages and b"Hello" in handler.messages[0][2]


async def test_device_code_declined_and_slow_down(oauth_standin):
    oauth_standin.interval = 5  # asked to wait 5 s, the client below polls at once
    s = signin_settings(oauth_standin)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:  # polls too fast: the provider says slow down
        waits.append(seconds)
        if len(waits) == 3:
            oauth_standin.approve(code.user_code, approved=False)

    code = await request_device_code(s)
    with pytest.raises(SignInError, match="declined"):
        await poll_device_code(s, code, sleep=no_wait)
    assert waits == [5, 5, 10]  # pending, then slow_down: RFC 8628 says wait 5 s longer


async def test_device_code_unknown_client_is_refused(oauth_standin):
    s = signin_settings(oauth_standin, oauth_client_id="someone-else")
    with pytest.raises(SignInError, match="invalid_client"):
        await request_device_code(s)


async def test_browser_sign_in_comes_back_to_the_loopback_listener(oauth_standin):
    oauth_standin.client_secret = "desktop-secret"  # Google's desktop clients have one
    s = signin_settings(oauth_standin, "gmail")
    assert method_for(s) == "browser"
    async with BrowserSignIn(s) as signin:
        assert signin.url.startswith(oauth_standin.authorize_url + "?")
        assert signin.redirect_uri.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            page = await browser.get(signin.url)  # signs in, lands on the loopback listener
        assert page.status_code == 200 and "Signed in" in page.text
        tokens = await signin.wait()
    assert tokens.refresh_token in oauth_standin.refresh_tokens
    asked = oauth_standin.requests[0][2]
    assert asked["code_challenge_method"] == "S256" and asked["login_hint"] == "help@acme.test"
    assert asked["scope"] == "https://mail.google.com/" and asked["access_type"] == "offline"
    traded = oauth_standin.requests[-1][2]
    assert traded["code_verifier"] == signin.verifier
    assert traded["client_secret"] == "desktop-secret"


async def test_browser_sign_in_by_pasting_the_address_over_ssh(oauth_standin):
    s = signin_settings(oauth_standin, "gmail")
    async with BrowserSignIn(s) as signin:
        async with httpx.AsyncClient() as browser:  # the browser is elsewhere: it cannot
            answer = await browser.get(signin.url)  # follow the redirect to our port
        landed = answer.headers["location"]
        with pytest.raises(SignInError, match="no sign-in answer"):
            signin.paste("http://127.0.0.1/nothing-here")
        with pytest.raises(SignInError, match="another sign-in"):
            signin.paste(landed.replace(signin.state, "stale"))
        signin.paste(landed)
        tokens = await signin.wait()
    assert tokens.refresh_token in oauth_standin.refresh_tokens


async def test_browser_sign_in_checks_pkce_and_refusal(oauth_standin):
    s = signin_settings(oauth_standin, "gmail")
    async with BrowserSignIn(s) as signin:
        signin.verifier = "x" * 64  # not the verifier the challenge was made from
        async with httpx.AsyncClient() as browser:
            signin.paste((await browser.get(signin.url)).headers["location"])
        with pytest.raises(SignInError, match="code_verifier does not match"):
            await signin.wait()
    oauth_standin.approve_browser = False
    async with BrowserSignIn(s) as signin:
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            await browser.get(signin.url)
        with pytest.raises(SignInError, match="declined"):
            await signin.wait()


async def test_without_a_refresh_token_the_channel_needs_sign_in(oauth_standin):
    s = signin_settings(oauth_standin)
    with pytest.raises(OAuthError) as exc:
        await OAuthTokenProvider(s)()
    assert exc.value.needs_reauth and "not signed in yet" in exc.value.reason
    assert not [r for r in oauth_standin.requests if r[1] == "/token"]
    with pytest.raises(ValueError, match="oauth_client_id is required"):
        EmailSettings(address="a@b.test", mode="forwarding", oauth_provider="gmail")


async def test_a_rotated_refresh_token_is_saved_and_signs_in_after_a_restart(
        oauth_standin, xoauth2_smtp, store):
    """Microsoft rotates refresh tokens: the one used is spent. The channel keeps the new one,
    sealed, so an adapter built afresh from the store (an engine restart) still signs in."""
    import asyncio

    from engine.channels import build_adapter
    from engine.models import Channel
    from engine.vault import is_sealed, open_settings

    handler, port = xoauth2_smtp
    s = signin_settings(oauth_standin)
    code = await request_device_code(s)
    oauth_standin.approve(code.user_code)
    first = (await poll_device_code(s, code, sleep=lambda _: asyncio.sleep(0))).refresh_token
    oauth_standin.rotate_refresh = True
    channel = await store.add_channel(Channel(kind="email", name="m365", settings={
        **s.model_dump(mode="json"), "smtp_port": port, "oauth_refresh_token": first}))

    assert await build_adapter(channel, store).test_connection() == []
    assert handler.logins == [("help@acme.test", True)]
    saved = await store.channel("m365")
    assert is_sealed(saved.settings["oauth_refresh_token"])
    second = open_settings(saved, store.vault)["oauth_refresh_token"]
    assert second != first and second in oauth_standin.refresh_tokens

    # "restart": a new adapter from what the store holds signs in with the rotated token
    assert await build_adapter(saved, store).test_connection() == []
    assert handler.logins[-1] == ("help@acme.test", True)
    third = open_settings(await store.channel("m365"), store.vault)["oauth_refresh_token"]
    assert third not in (first, second)


async def test_only_a_secret_setting_can_be_saved_as_one(store):
    from engine.models import Channel
    from engine.store import StoreError

    channel = await store.add_channel(Channel(kind="email", name="plain", settings={
        "address": "help@acme.test", "mode": "forwarding"}))
    with pytest.raises(StoreError, match="'address' is not a secret setting"):
        await store.save_channel_secret(channel.id, "address", "evil@example.com")
