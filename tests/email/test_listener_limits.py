"""The forwarding listener's limits (issue 9, item 7), against real SMTP clients.

Streaming DATA (dot-unstuffing across any chunking), the size limit answered with 552 the
moment it is passed, the connection cap (421), idle and data timeouts, and the listening socket
closed by a cancel that lands at any point after the bind.
"""

from __future__ import annotations

import asyncio
import random
import smtplib
import socket

import aiosmtplib
import pytest

from engine.channels.smtp_data import DataDecoder, SpooledMail
from engine.channels.smtp_listener import ForwardingListener

ADDR = "support@acme.test"
RAW = (b"From: Ana <ana@customer.test>\r\nTo: support@acme.test\r\nSubject: Hi\r\n"
       b"Message-ID: <lim@customer.test>\r\n\r\nHello\r\n")


def stuffed(lines: list[bytes]) -> bytes:
    """What a client sends for ``lines``: dot-stuffed, then the end marker."""
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in lines) + b".\r\n"


def decode_in_chunks(wire: bytes, cuts: list[int]) -> tuple[bytes, bytes]:
    dec = DataDecoder()
    out, rest, last = b"", b"", 0
    for cut in [*cuts, len(wire)]:
        payload, more = dec.feed(wire[last:cut])
        out += payload
        rest += more
        last = cut
    assert dec.done
    return out, rest


def test_decoder_undoes_dot_stuffing_however_the_data_is_cut():
    rng = random.Random(9)
    pieces = [b"", b".", b"..", b".hidden", b"a.b", b"x" * 9000, b".\t", b"end."]
    for _ in range(300):
        lines = [rng.choice(pieces) for _ in range(rng.randint(0, 12))]
        wire = stuffed(lines) + b"QUIT\r\n"
        cuts = sorted(rng.sample(range(1, len(wire)), min(len(wire) - 1, rng.randint(0, 6))))
        out, rest = decode_in_chunks(wire, cuts)
        assert out == b"".join(ln + b"\r\n" for ln in lines)
        assert rest == b"QUIT\r\n"
    # one byte at a time, and a long line without an end of line kept bounded
    out, _ = decode_in_chunks(stuffed([b".x", b"y"]), list(range(1, 10)))
    assert out == b".x\r\ny\r\n"
    dec = DataDecoder()
    dec.feed(b"z" * 100_000)
    assert dec.pending <= 8192


async def _read_reply(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readline()
    while line[3:4] == b"-":
        line = await reader.readline()
    return line


async def test_size_limit_answered_with_552_while_the_data_still_streams():
    got: list[bytes] = []

    async def on_message(mail: SpooledMail) -> None:
        got.append(mail.read_bytes())

    limit = 64 * 1024
    async with ForwardingListener([ADDR], on_message, port=0, max_message_bytes=limit) as lst:
        reader, writer = await asyncio.open_connection("127.0.0.1", lst.port)
        assert (await _read_reply(reader)).startswith(b"220")
        for cmd in (b"EHLO client.test", b"MAIL FROM:<ana@customer.test>", f"RCPT TO:<{ADDR}>".encode()):
            writer.write(cmd + b"\r\n")
            assert (await _read_reply(reader)).startswith(b"250")
        writer.write(b"DATA\r\n")
        assert (await _read_reply(reader)).startswith(b"354")
        writer.write(RAW + b"x" * 70 + b"\r\n")
        sent = len(RAW)
        while sent <= limit + 8192:  # past the limit, and the end of data not sent
            writer.write(b"y" * 1022 + b"\r\n")
            sent += 1024
        await writer.drain()
        early = await asyncio.wait_for(_read_reply(reader), 5)
        assert early.startswith(b"552"), early
        # the client finishes its data anyway; no second answer, the session goes on
        writer.write(b"z" * 300_000 + b"\r\n.\r\nNOOP\r\n")
        assert (await asyncio.wait_for(_read_reply(reader), 5)).startswith(b"250")
        writer.write(b"QUIT\r\n")
        assert (await _read_reply(reader)).startswith(b"221")
        writer.close()
        # a normal mail on a new connection still goes through
        await aiosmtplib.send(RAW, sender="ana@customer.test", recipients=[ADDR],
                              hostname="127.0.0.1", port=lst.port, start_tls=False)
    assert len(got) == 1 and got[0].endswith(b"Hello\r\n")
    assert lst.too_big == 1 and not list(lst.spool_dir.glob("mail-*"))


async def test_connection_cap_says_421_and_frees_a_slot_when_one_leaves():
    async def on_message(mail: SpooledMail) -> None:
        return None

    async with ForwardingListener([ADDR], on_message, port=0, max_connections=3) as lst:
        held = []
        for _ in range(3):
            r, w = await asyncio.open_connection("127.0.0.1", lst.port)
            assert (await _read_reply(r)).startswith(b"220")
            held.append((r, w))
        r, w = await asyncio.open_connection("127.0.0.1", lst.port)
        assert (await _read_reply(r)).startswith(b"421")
        assert await asyncio.wait_for(r.read(), 5) == b""  # and closed
        w.close()
        held[0][1].write(b"QUIT\r\n")
        await held[0][0].read()
        held[0][1].close()
        for _ in range(100):  # the server notices the close
            if len(lst.sessions) < 3:
                break
            await asyncio.sleep(0.02)
        await aiosmtplib.send(RAW, sender="a@b.test", recipients=[ADDR], hostname="127.0.0.1",
                              port=lst.port, start_tls=False)
        for _, w in held[1:]:
            w.close()
    assert lst.refused_connections == 1 and lst.accepted == 1


async def test_idle_and_data_timeouts_close_the_connection():
    async def on_message(mail: SpooledMail) -> None:
        return None

    async with ForwardingListener([ADDR], on_message, port=0, idle_timeout=0.4,
                                  data_timeout=1.0) as lst:
        r, w = await asyncio.open_connection("127.0.0.1", lst.port)
        assert (await _read_reply(r)).startswith(b"220")
        t0 = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(r.read(), 5) == b""  # closed by the server when idle
        assert asyncio.get_running_loop().time() - t0 < 2
        w.close()
        # a client trickling its data (never idle for 0.4 s) is cut at the data timeout
        r, w = await asyncio.open_connection("127.0.0.1", lst.port)
        await _read_reply(r)
        for cmd in (b"HELO c", b"MAIL FROM:<a@b.test>", f"RCPT TO:<{ADDR}>".encode(), b"DATA"):
            w.write(cmd + b"\r\n")
            await _read_reply(r)
        t0 = asyncio.get_running_loop().time()
        closed = False
        for _ in range(40):
            try:
                w.write(b"slow line\r\n")
                await w.drain()
                if await asyncio.wait_for(r.read(100), 0.2) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except ConnectionError:
                closed = True
                break
        assert closed and asyncio.get_running_loop().time() - t0 < 3
        w.close()
    assert lst.timeouts == 2 and lst.accepted == 0


async def test_a_cancel_right_after_the_bind_closes_the_socket():
    """Issue 17: a channel task cancelled between the bind and its cleanup leaked the socket."""
    async def on_message(mail: SpooledMail) -> None:
        return None

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for delay_steps in range(6):
        lst = ForwardingListener([ADDR], on_message, port=port)

        async def serve(listener: ForwardingListener = lst) -> None:
            async with listener:
                await asyncio.Event().wait()

        task = asyncio.ensure_future(serve())
        for _ in range(delay_steps):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not lst.running
        with socket.socket() as s:  # the port is free again at once
            s.bind(("127.0.0.1", port))


def test_stdlib_client_sees_552_for_too_big_mail():
    """A blocking client, too: the refusal reaches it as an SMTP error, not a dropped line."""
    async def main() -> None:
        async def on_message(mail: SpooledMail) -> None:
            return None

        async with ForwardingListener([ADDR], on_message, port=0, max_message_bytes=4096) as lst:
            def send() -> int:
                with smtplib.SMTP("127.0.0.1", lst.port) as s:
                    s.helo()  # no ESMTP SIZE declared up front: the limit is found in DATA
                    try:
                        s.sendmail("a@b.test", [ADDR], RAW + b"x" * 200_000)
                    except smtplib.SMTPDataError as exc:
                        return exc.smtp_code
                return 250

            assert await asyncio.to_thread(send) == 552

    asyncio.run(main())


def test_spool_files_left_by_a_crash_are_swept(tmp_path):
    import os
    import time

    from engine.channels.smtp_data import sweep

    old, fresh, other = tmp_path / "mail-a.eml", tmp_path / "part-b", tmp_path / "keep-me"
    for p in (old, fresh, other):
        p.write_bytes(b"x")
    past = time.time() - 4 * 3600
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert sweep(tmp_path) == 1
    assert not old.exists() and fresh.exists() and other.exists()
