"""The mail already in a mailbox: imported as history, or skipped (IMAP).

:func:`import_history` takes the folder's mail (all, or since a date) in as tickets in a
chosen status — no routing, no notifications; threads rebuild because each batch is ingested
in date order and the Message-ID is the key, so a rerun (or a crash halfway) duplicates
nothing. Afterwards, as after :func:`skip_existing`, the live channel starts after the newest
UID. Both run through the adapter's host, like everything the adapter does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from engine.channels.imap_proto import ImapError, parse_fetch, uid_set

if TYPE_CHECKING:
    from engine.channels.email import EmailAdapter


def _uids(lines: list[Any]) -> list[int]:
    return [int(x) for line in lines[:-1] if isinstance(line, bytes)
            for x in line.split() if x.isdigit()]


async def import_history(adapter: EmailAdapter, *, since: date | None = None,
                         status: str = "closed",
                         progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Import the folder's mail as tickets in ``status``; the report counts every mail."""
    from engine.importers import ImportReport, import_batches
    from engine.mail_import import prepare

    host = adapter.host
    # who "we" are in the archive: our answers go in as answers, not as tickets from us
    ours = await host.agent_addresses() | {adapter.settings.address}
    client = adapter.imap_client()
    await client.connect()
    try:
        imap = client._require()
        await imap.noop()
        criteria = f"SINCE {since.strftime('%d-%b-%Y')}" if since else "ALL"
        resp = await imap.uid_search(criteria, charset=None)
        if resp.result != "OK":
            raise ImapError(f"IMAP: UID SEARCH failed: {resp.lines[-1]!r}")
        uids = sorted(set(_uids(resp.lines)))
        total = ImportReport()
        if progress:
            progress(0, len(uids))
        for i in range(0, len(uids), client.batch_size):
            batch = uids[i:i + client.batch_size]
            fetched = await imap.uid("fetch", uid_set(batch), "(UID BODY.PEEK[])")
            if fetched.result != "OK":
                raise ImapError("IMAP: UID FETCH failed during the history import")
            bad: list[tuple[str, str, bytes]] = []
            skipped: list[str] = []
            messages = prepare([(f"imap uid {u}", raw) for u, raw in parse_fetch(fetched.lines)],
                               channel_id=adapter.channel.id, status=status, since=None,
                               quarantine=bad, ours=ours, skipped=skipped)
            for where, reason, raw in bad:
                await host.quarantine("email:history", f"{where}: {reason}", raw)
            done = await import_batches(host.ingest_many, messages)
            done.read += len(bad) + len(skipped)
            done.quarantined += len(bad)
            done.skipped += len(skipped)
            total.add(done)
            if progress:
                progress(min(i + len(batch), len(uids)), len(uids))
        await skip_existing(adapter, client)
        return {"found": len(uids), **total.as_dict()}
    finally:
        await client.close()


async def skip_existing(adapter: EmailAdapter, client: Any = None) -> int:
    """Make the live channel start after the mail already in the folder (no history);
    returns the newest UID there."""
    own = client is None
    if own:
        client = adapter.imap_client()
        await client.connect()
    try:
        imap = client._require()
        resp = await imap.uid_search("ALL", charset=None)
        last = max(_uids(resp.lines), default=0)
        await client.state.put_sync_state(adapter.settings.imap_folder,
                                          client.uidvalidity or 0, last)
        return last
    finally:
        if own:
            await client.close()
