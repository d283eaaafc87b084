"""``ticketty channels signin NAME`` against the local OAuth stand-in: Microsoft's device code,
Google's browser sign-in (loopback, or the address pasted on stdin over SSH)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx

from engine.models import Channel
from engine.store import Store
from engine.vault import open_settings

BIN = str(Path(sys.executable).parent / "ticketty")


async def add_channel(db: Path, **settings: str) -> None:
    async with Store(db) as store:
        await store.add_channel(Channel(kind="email", name="Support", settings={
            "address": "help@acme.test", "mode": "forwarding", **settings}))


async def start(db: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        BIN, "--db", str(db), "channels", "signin", "Support", "--json", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def read_until(proc: asyncio.subprocess.Process, needle: str) -> list[str]:
    """stderr lines up to (and including) the first containing ``needle``."""
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(proc.stderr.readline(), 20)
        if not raw:
            raise AssertionError(f"no {needle!r} in {lines}")
        lines.append(raw.decode())
        if needle in lines[-1]:
            return lines


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, dict, str]:
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode, (json.loads(out) if out.strip() else {}), err.decode()


async def stored_token(db: Path) -> str:
    async with Store(db) as store:
        return open_settings(await store.channel("Support")).get("oauth_refresh_token", "")


async def test_device_code_sign_in_stores_the_refresh_token(db_path, oauth_standin):
    await add_channel(db_path, oauth_provider="office365", **oauth_standin.settings())
    proc = await start(db_path)
    said = "".join(await read_until(proc, "enter the code"))
    (grant,) = oauth_standin._devices.values()
    assert f"open {oauth_standin.verification_url} and enter the code {grant.user_code}" in said
    async with httpx.AsyncClient() as browser:
        await browser.get(oauth_standin.verification_url, params={"user_code": grant.user_code})
    code, out, err = await finish(proc)
    assert code == 0, err
    assert out == {"channel": "Support", "signed_in": True, "provider": "office365"}
    assert await stored_token(db_path) in oauth_standin.refresh_tokens
    listed = await asyncio.create_subprocess_exec(
        BIN, "--db", str(db_path), "channels", "list", "--json",
        stdout=asyncio.subprocess.PIPE)
    settings = json.loads((await listed.communicate())[0])[0]["settings"]
    assert settings["oauth_refresh_token"] == "********"  # a secret, never printed


async def test_browser_sign_in_comes_back_to_the_loopback(db_path, oauth_standin):
    oauth_standin.client_secret = "desktop-secret"
    urls = {k: v for k, v in oauth_standin.settings().items() if k.endswith("_url")}
    await add_channel(db_path, **urls)  # a password channel so far
    proc = await start(db_path, "--provider", "gmail", "--client-id", oauth_standin.client_id,
                       "--client-secret", "desktop-secret")
    said = await read_until(proc, oauth_standin.authorize_url)
    url = said[-1].strip()
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        assert "Signed in" in (await browser.get(url)).text
    code, out, err = await finish(proc)
    assert code == 0, err
    assert out["provider"] == "gmail"
    async with Store(db_path) as store:
        channel = await store.channel("Support")
    assert channel.settings["oauth_refresh_token"].startswith("fernet:")  # sealed at rest
    settings = open_settings(channel)
    assert settings["oauth_provider"] == "gmail"
    assert settings["oauth_client_secret"] == "desktop-secret"
    assert settings["oauth_refresh_token"] in oauth_standin.refresh_tokens


async def test_browser_sign_in_over_ssh_takes_the_pasted_address(db_path, oauth_standin):
    await add_channel(db_path, oauth_provider="gmail", **oauth_standin.settings())
    proc = await start(db_path)
    url = (await read_until(proc, oauth_standin.authorize_url))[-1].strip()
    async with httpx.AsyncClient() as browser:  # elsewhere: the redirect cannot come back
        landed = (await browser.get(url)).headers["location"]
    proc.stdin.write(b"http://127.0.0.1:1/not-it\n")
    await read_until(proc, "paste it again")
    proc.stdin.write(landed.encode() + b"\n")
    await proc.stdin.drain()
    code, _, err = await finish(proc)
    assert code == 0, err
    assert await stored_token(db_path) in oauth_standin.refresh_tokens


async def test_sign_in_errors_are_one_line(db_path, oauth_standin):
    """With --json (as start() runs it) an error is one JSON object on stderr."""
    await add_channel(db_path)
    code, _, err = await finish(await start(db_path))
    assert code == 1 and json.loads(err) == {
        "error": "channel 'Support' does not sign in: add --provider gmail or "
                 "--provider office365 (and --client-id)", "exit": 1}
    code, _, err = await finish(await start(db_path, "--provider", "office365"))
    assert code == 1 and "oauth_client_id is required" in json.loads(err)["error"]
    assert err.count("\n") == 1


async def test_a_declined_sign_in_changes_nothing(db_path, oauth_standin):
    await add_channel(db_path, oauth_provider="office365", **oauth_standin.settings())
    proc = await start(db_path)
    await read_until(proc, "enter the code")
    (grant,) = oauth_standin._devices.values()
    oauth_standin.approve(grant.user_code, approved=False)
    code, _, err = await finish(proc)
    assert code == 1
    assert json.loads(err.strip().splitlines()[-1]) == {"error": "the sign-in was declined",
                                                        "exit": 1}
    assert await stored_token(db_path) == ""
