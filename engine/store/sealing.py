"""Channel secrets written before they were sealed get sealed when the store opens.

Databases from before ``engine/vault.py`` hold passwords in plain text. Every open checks the
channels (one small read) and seals any plain secret in one transaction, making the key
(``secrets.key``) if there is none yet — the same "made on first use" as for a new secret.
When the key cannot be made or read, the open goes on (a help desk must start) and a warning
says why; the next open, or the next save of the channel, seals them.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from engine.store.db import Tx
from engine.store.sqlite.connection import secure_delete
from engine.vault import SecretError, is_sealed, is_secret, seal_settings

log = logging.getLogger(__name__)


def _plain_secrets(conn: sqlite3.Connection) -> list[tuple[int, str, dict]]:
    out = []
    for row in conn.execute("SELECT id, kind, settings FROM channels"):
        settings = json.loads(row["settings"])
        if any(v and isinstance(v, str) and not is_sealed(v) and is_secret(row["kind"], k)
               for k, v in settings.items()):
            out.append((row["id"], row["kind"], settings))
    return out


class SealingMixin:
    """Mixed into ``Store``: runs :meth:`seal_plain_secrets` right after opening."""

    async def _after_open(self) -> None:
        await self.seal_plain_secrets()

    async def seal_plain_secrets(self) -> int:
        """Seal plain-text channel secrets in place; returns how many channels changed."""
        if not await self.read(_plain_secrets):  # type: ignore[attr-defined]
            return 0
        vault = self.vault  # type: ignore[attr-defined]

        def fn(tx: Tx) -> int:
            # secure_delete: the page rewritten below must not keep the plain text in its
            # free space (reset by the caller: a PRAGMA is per connection, not per transaction)
            secure_delete(tx.conn, True)
            changed = 0
            for channel_id, kind, settings in _plain_secrets(tx.conn):
                sealed = seal_settings(kind, settings, vault)
                tx.execute("UPDATE channels SET settings=? WHERE id=?",
                           (json.dumps(sealed), channel_id))
                tx.event("channel.sealed", channel_id=channel_id,
                         keys=sorted(k for k in sealed if sealed[k] != settings[k]))
                changed += 1
            return changed

        try:
            changed = await self.write(fn)  # type: ignore[attr-defined]
        except (SecretError, OSError) as exc:
            log.warning("channel secrets stay unsealed for now: %s", exc)
            return 0
        finally:
            await self.write(lambda tx: secure_delete(tx.conn, False))  # type: ignore[attr-defined]
        await self.checkpoint()  # type: ignore[attr-defined]  # old pages out of the WAL, too
        return changed
