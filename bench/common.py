"""Shared helpers: scratch directories on tmpfs, percentiles, output, a seeded workspace."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SHM = Path("/dev/shm")


@contextmanager
def scratch(name: str, keep: str | None = None) -> Iterator[Path]:
    """A throw-away directory, on tmpfs (``/dev/shm``) when the machine has one.

    ``keep``: use this directory instead and leave it in place (for reusing a built store).
    """
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    base = SHM if SHM.is_dir() and os.access(SHM, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix=f"ticketty-bench-{name}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def on_tmpfs(path: Path) -> bool:
    try:
        return str(path.resolve()).startswith(str(SHM))
    except OSError:
        return False


def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100), nearest-rank, of ``values``."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        "load_1min": round(load, 2) if load is not None else None,
    }


def emit(name: str, result: dict[str, Any], as_json: bool) -> None:
    """Print ``result`` as one JSON object, or as a two-column table."""
    if as_json:
        print(json.dumps(result, default=str))
        return
    rows = [(k, v) for k, v in result.items() if not isinstance(v, dict)]
    nested = [(k, v) for k, v in result.items() if isinstance(v, dict)]
    width = max([len(k) for k, _ in rows] + [len(f"{k}.{kk}") for k, v in nested for kk in v] + [4])
    print(f"bench {name}")
    print("-" * (width + 24))
    for k, v in rows:
        print(f"{k:<{width}}  {_fmt(v)}")
    for k, v in nested:
        for kk, vv in v.items():
            print(f"{k + '.' + kk:<{width}}  {_fmt(vv)}")
    sys.stdout.flush()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


async def seed_workspace(store: Any, agents: int = 4) -> Any:
    """Admin + ``agents`` agents in one team + an email channel routing round-robin to it.

    Returns the email channel. Routing is on so the benchmark pays for it like production.
    """
    from engine.desk import ensure_first_admin
    from engine.models import Agent, Channel, RoutingMode, RoutingRule, TicketDefaults

    await ensure_first_admin(store, "admin@acme.test", "Ada Admin")
    team = await store.add_team("Support")
    for i in range(agents):
        await store.add_agent(Agent(email=f"agent{i}@acme.test", name=f"Agent {i}",
                                    teams=[team.id]))
    return await store.add_channel(Channel(
        kind="email", name="Support mail",
        settings={"address": "help@acme.test", "mode": "forwarding"},
        defaults=TicketDefaults(status="new"),
        routing=RoutingRule(mode=RoutingMode.users_teams, team_ids=[team.id]),
    ))


async def start_follower(argv: list[str], key: str) -> tuple[Any, dict[str, float], Any]:
    """Start the follower process ``python -m <argv…>`` (it prints one line when ready, then
    a JSON object per ticket it sees on its queue page) and collect ``{item[key]: item["t"]}``
    as they come. Returns the process, that dict and the reading task."""
    import asyncio
    import json
    import subprocess
    import sys

    follower = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert follower.stdout is not None
    if not await asyncio.wait_for(follower.stdout.readline(), 30):
        err = await follower.stderr.read() if follower.stderr else b""
        raise RuntimeError(f"follower did not start: {err.decode()[-2000:]}")
    seen: dict[str, float] = {}

    async def read() -> None:
        assert follower.stdout is not None
        while raw := await follower.stdout.readline():
            item = json.loads(raw)
            seen[item[key]] = item["t"]

    return follower, seen, asyncio.ensure_future(read())


class WebEngine:
    """A running ``ticketty engine`` with its front door on ``port``; ``stderr`` holds what it
    wrote once it has stopped."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc, self.port, self.stderr = proc, port, ""


@contextmanager
def web_engine(where: Path, db: Path) -> Iterator[WebEngine]:
    """A real ``ticketty engine`` serving ``db`` on a free port with the front door's rate
    limits off (the benches are one client sending fast); yields once ``/healthz`` answers,
    stops it on the way out."""
    from engine.web.server import pick_port

    port = pick_port()
    config = where / "engine.toml"
    config.write_text(f"[engine]\nhttp_port = {port}\nhttp_ip_rate = 0\nhttp_visitor_rate = 0\n")
    ticketty = str(Path(sys.executable).parent / "ticketty")
    env = {**os.environ, "XDG_CONFIG_HOME": str(where / "config")}
    proc = subprocess.Popen([ticketty, "--db", str(db), "--config", str(config), "engine",
                             "--log-level", "warning"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    running = WebEngine(proc, port)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), proc,
                   "the engine's front door never answered /healthz")
        yield running
    finally:
        proc.terminate()
        try:
            err = proc.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate()[1]
        running.stderr = (err or b"").decode(errors="replace")


def wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], failure: str,
               seconds: float = 60) -> None:
    """Poll ``ready`` until it holds; the engine ``proc`` exiting or ``seconds`` passing
    raises."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the engine exited with {proc.returncode}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(failure)


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False
