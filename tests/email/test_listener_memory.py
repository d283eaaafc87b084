"""Twenty 20 MB mails at once do not blow the engine up (issue 9, item 7).

A real ``ticketty engine`` with a forwarding channel; twenty clients stream a 20 MB mail each
at the same time, and a normal mail is sent while they stream. The engine and its worker
processes together stay under 200 MB resident the whole time — while the mails arrive and
while they are parsed and stored — and the normal mail is accepted.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from bench.bigmail import attachment_mail
from tests.helpers.procs import EngineProc, query, run, write_config
from tests.helpers.servers import free_port

STREAMS = 20
SIZE = 20_000_000
LIMIT_MB = 200


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return out


class RssSampler(threading.Thread):
    """Samples the RSS of a process plus its children every 20 ms; ``peak`` in MB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.peak_parts: dict[int, float] = {}
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            parts = {p: _rss_mb(p) for p in [self.pid, *_children(self.pid)]}
            total = sum(parts.values())
            self.samples += 1
            if total > self.peak:
                self.peak, self.peak_parts = total, parts
            time.sleep(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join()


async def _smtp(port: int, mail_from: str, chunks: list[bytes]) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async def reply() -> bytes:
            line = await reader.readline()
            while line[3:4] == b"-":
                line = await reader.readline()
            return line

        assert (await reply()).startswith(b"220")
        for cmd in (b"EHLO client.test", f"MAIL FROM:<{mail_from}>".encode(),
                    b"RCPT TO:<help@acme.test>", b"DATA"):
            writer.write(cmd + b"\r\n")
            await reply()
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        writer.write(b".\r\n")
        answer = await asyncio.wait_for(reply(), 300)
        writer.write(b"QUIT\r\n")
        return answer
    finally:
        writer.close()


def test_twenty_20mb_streams_stay_under_200mb_and_a_normal_mail_gets_in(db_path, tmp_path):
    port = free_port()
    run(db_path, "channels", "add", "email", "--name", "Fwd", "--set", "address=help@acme.test",
        "--set", "mode=forwarding", "--set", f"forward_listen_port={port}")
    engine = EngineProc(db_path, write_config(tmp_path / "engine.toml", lease_seconds=6))
    sampler = None
    try:
        engine.wait_line("forwarding listener on", timeout=60)
        body = attachment_mail(SIZE, message_id="TEMPLATE@example.com")
        head, _, rest = body.partition(b"\r\n\r\n")
        pieces = [rest[i:i + 1_000_000] for i in range(0, len(rest), 1_000_000)]
        sampler = RssSampler(engine.pid)
        sampler.start()

        async def main() -> tuple[list[bytes], bytes, float]:
            streams = [asyncio.ensure_future(_smtp(port, f"big{i}@example.com", [
                head.replace(b"TEMPLATE", f"big{i}".encode()) + b"\r\n\r\n", *pieces]))
                for i in range(STREAMS)]
            await asyncio.sleep(0.5)  # the streams are under way
            t0 = time.monotonic()
            normal = await _smtp(port, "cleo@example.com", [
                b"From: Cleo <cleo@example.com>\r\nTo: help@acme.test\r\nSubject: normal\r\n"
                b"Message-ID: <normal@example.com>\r\n\r\nJust a question.\r\n"])
            took = time.monotonic() - t0
            return list(await asyncio.gather(*streams)), normal, took

        answers, normal, took = asyncio.run(main())
        assert normal.startswith(b"250"), normal
        refused = [a for a in answers if not a.startswith(b"250")]
        assert not refused, f"{refused}\n{engine.log()[-3000:]}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and query(
                db_path, "SELECT count(*) FROM tickets")[0][0] < STREAMS + 1:
            time.sleep(0.1)
        sampler.stop()
        assert query(db_path, "SELECT count(*) FROM tickets")[0][0] == STREAMS + 1
        sizes = query(db_path, "SELECT size FROM attachments")
        assert len(sizes) == STREAMS and {s for (s,) in sizes} == {(SIZE - 1200) * 3 // 4}
        assert sampler.samples > 50
        print(f"\npeak RSS engine + workers: {sampler.peak:.0f} MB {sampler.peak_parts}; "
              f"normal mail accepted in {took:.2f} s")
        assert sampler.peak < LIMIT_MB, f"peak {sampler.peak:.0f} MB: {sampler.peak_parts}"
        assert not list(Path(str(db_path.with_suffix(".spool"))).glob("*"))  # nothing left over
    finally:
        engine.stop()
        if sampler is not None and sampler.is_alive():
            sampler.stop()
