"""Customer text on a terminal (issue 9, item 15): one sanitiser, and literal contact search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

from engine.ingest import ingest
from engine.models import Channel, InboundMessage

BIN = str(Path(sys.executable).parent / "ticketty")


def test_invisible_format_characters_are_removed():
    from engine.text import clean, line

    assert clean("pay\u200bpal re\u200dfund\ufeff") == "paypal refund"
    assert clean("a\u2066b\u2067c\u2068d\u2069e") == "abcde"  # bidi isolates
    assert clean("x\u202ay\u202bz\u202c1\u202d2\u202e3") == "xyz123"  # embeddings, overrides
    assert clean("soft\u00adhyphen\u2060joined\U000e0041tag") == "softhyphenjoinedtag"
    assert clean("keep\nlines\r\nand\ttabs\u2028sep") == "keep\nlines\nand    tabs\nsep"
    assert line("one\u200b two\n\u2029three") == "one two three"
    assert clean("a\x1b[31mred\x1b[0m \x07b") == "ared b"
    assert clean("日本語 — Ünïcödé ✓ 👍") == "日本語 — Ünïcödé ✓ 👍"  # visible text is untouched


def test_format_ranges_cover_every_format_character_python_knows():
    from engine.text import FORMAT_RANGES

    listed = {cp for lo, hi in FORMAT_RANGES for cp in range(lo, hi + 1)}
    known = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"}
    assert known <= listed, f"new format characters: {sorted(hex(c) for c in known - listed)}"


def test_the_tui_uses_the_engines_sanitiser():
    import tui.text
    from engine.text import clean, line

    assert tui.text.clean is clean and tui.text.line is line


def test_the_cli_table_and_lines_use_the_same_sanitiser():
    from engine.cli.common import clean as cli_clean
    from engine.cli.common import table

    assert cli_clean("pay\u200bpal\x1b[1m!") == "paypal!"  # joined, not "pay pal [1m!"
    assert table([["pay\u200bpal", "x"]], ["A", "B"]).splitlines()[1] == "paypal  x"


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, "--db", str(db), *args], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy())


async def test_contacts_search_treats_percent_and_underscore_literally(store, db_path):
    ch = await store.add_channel(Channel(kind="email", name="Support",
                                         settings={"address": "help@acme.test"}))
    people = [("100% Cotton Ltd", "sales@cotton.test"), ("Ann", "ann_lee@example.com"),
              ("Bob", "bob@example.com"), ("Annlee", "annxlee@example.com")]
    for i, (name, address) in enumerate(people):
        await ingest(store, InboundMessage(channel_id=ch.id, key=f"<c{i}@x>", sender=address,
                                           sender_name=name, subject="hi", text="hi"))

    def search(term: str) -> list[str]:
        p = cli(db_path, "contacts", "list", "--search", term, "--json")
        assert p.returncode == 0, p.stderr
        return [c["name"] for c in json.loads(p.stdout)]

    assert search("%") == ["100% Cotton Ltd"]
    assert search("_") == ["Ann"]
    assert search("n_l") == ["Ann"]  # not "Annlee" (annxlee@): "_" is no wildcard
    assert search("\\") == []
    assert len(search("")) == 4


def test_eight_bit_escapes_lone_cr_and_none():
    """8-bit CSI/OSC come out whole (not just their first byte), a lone CR is a newline, and
    nothing is nothing (mutation survivors, issue 17)."""
    from engine.text import clean, line

    assert clean("a\x9b31mred") == "ared"
    assert clean("t\x9d0;owned\x9c end") == "t end"
    assert clean("t\x9d0;owned\x07 end") == "t end"
    assert clean("one\rtwo\r\nthree") == "one\ntwo\nthree"
    assert clean(None) == "" and line(None) == ""
    assert line("a\rb") == "a b"
