"""Each benchmark runs on a small N and returns its documented keys (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench(*argv: str, timeout: int = 240) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench", *argv, "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_ingest_small():
    r = bench("ingest", "--n", "300", "--batch", "100")
    for key in ("mails_per_s", "bare_parse_per_s", "ratio"):
        assert r[key] > 0, key
    assert r["pipeline"]["messages"] >= 300  # inbound mails (+ routing notes)
    assert r["pipeline"]["quarantined"] == 0
    assert r["machine"]["cpus"]


def test_search_small():
    r = bench("search", "--messages", "3000", "--rounds", "1")
    assert r["messages"] == 3000
    assert r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"]
    assert r["max_hits"] > 0  # the queries do find something


def test_latency_small():
    r = bench("latency", "--n", "5")
    assert r["missing"] == 0
    assert r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"]


def test_latency_of_the_forms_channel_small():
    r = bench("latency", "--channel", "forms", "--n", "5")
    assert r["channel"] == "forms" and r["n"] == 5
    assert r["missing"] == 0 and r["refused"] == 0
    assert r["p50_ms"] > 0 and r["p99_ms"] >= r["p50_ms"] and r["post_p50_ms"] > 0


def test_latency_calls_small():
    r = bench("latency", "--channel", "calls", "--n", "5")
    assert r["channel"] == "calls" and r["n"] == 5 and r["missing"] == 0
    assert r["answered_200"] == r["rang_agents"] == 5
    for key in ("twiml_p50_ms", "twiml_p99_ms", "queue_p50_ms", "queue_p99_ms"):
        assert r[key] > 0, key


def test_latency_with_heavy_mail_small():
    r = bench("latency", "--n", "5", "--with-heavy-mail", "--heavy-mb", "0.5")
    assert r["missing"] == 0 and r["n"] >= 5
    heavy = r["heavy"]
    assert heavy["quarantined"] == 0 and heavy["smtp_transaction_s"] > 0
    for key in ("small_mails_meanwhile", "during_p50_ms", "during_p99_ms", "during_max_ms"):
        assert key in heavy


def test_queue_small():
    pytest.importorskip("textual")
    r = bench("queue", "--tickets", "2000")
    for key in ("first_paint_ms", "key_p50_ms", "key_p99_ms", "rss_mb"):
        assert r[key] > 0, key
    assert r["rows_in_view"] > 0


def test_mailgen_is_deterministic_and_parseable():
    from bench.mailgen import Mailgen
    from engine.channels.email_parse import parse_email

    a, b = Mailgen(3).mails(50), Mailgen(3).mails(50)
    assert a == b
    parsed = [parse_email(raw, channel_id=1) for raw in a]
    assert any(m.in_reply_to for m in parsed)  # some replies thread to earlier mails
    assert len({m.key for m in parsed}) == 50


def test_startup_small():
    r = bench("startup", "--tickets", "500", "--runs", "1")
    assert r["tickets"] == 500
    assert r["first_rows_ms"] > 0 and len(r["first_rows_runs_ms"]) == 1
    assert r["python_start_ms"] > 0 and r["textual_start_ms"] > 0


def test_api_small():
    r = bench("api", "--seconds", "1", "--warmup", "0.2", "--concurrency", "4", timeout=120)
    for phase in ("plain", "idempotent", "anchor_healthz"):
        assert r[phase]["errors"] == {}, r[phase]
        assert r[phase]["requests"] > 0 and r[phase]["p99_ms"] >= r[phase]["p50_ms"] > 0
    assert r["tickets_per_s"] > 0 and r["engine_exit"] == 0
    # every 201 is one ticket in the database, and nothing else made one
    assert r["tickets_in_db"] == r["plain"]["answered"] + r["idempotent"]["answered"]


def test_latency_chat_small():
    r = bench("latency", "--channel", "chat", "--n", "5")
    assert r["n"] == 5 and r["missing"] == 0
    assert r["visitor_to_queue"]["p99_ms"] > 0 and r["agent_to_visitor"]["p99_ms"] > 0


def test_chat_load_small():
    r = bench("chat-load", "--idle", "20", "--active", "3", "--seconds", "2")
    assert r["idle_widgets"] == 20 and r["widgets_open_on_engine"] == 20
    assert r["lines_sent"] > 0 and r["answers"] > 0
    assert r["engine_rss_mb"]["idle_open"] > 0


def test_ssh_small():
    r = bench("ssh", "--agents", "3", "--rounds", "2", "--events", "2", "--batch", "3")
    assert r["sessions"] == 3 and r["session_pss_mb_median"] > 0
    assert r["event_missed"] == 0 and r["presence_missed"] == 0
    for key in ("key_repaint_alone_p99_ms", "event_to_every_screen_p99_ms",
                "presence_to_every_screen_p99_ms"):
        assert r[key] > 0, key


@pytest.mark.parametrize("channel", ["messenger", "whatsapp"])
def test_latency_of_meta_webhooks_small(channel: str) -> None:
    r = bench("latency", "--channel", channel, "--n", "5")
    assert r["channel"] == channel and r["n"] == 5 and r["missing"] == 0
    assert r["p99_ms"] >= r["p50_ms"] > 0 and r["webhook_answer_p50_ms"] > 0


def test_webhooks_small() -> None:
    r = bench("webhooks", "--seconds", "1", "--warmup", "0.2", "--concurrency", "4",
              timeout=120)
    assert r["errors"] == {} and r["answered_200"] > 0
    assert r["messages_stored"] == r["answered_200"] and r["lost"] == 0
    assert r["p99_ms"] >= r["p50_ms"] > 0
