"""Versioned schema migrations, run in order on open (``PRAGMA user_version``).

Append a new entry to :data:`MIGRATIONS` for every change; never edit an applied one.
Times are stored as REAL seconds since the epoch (UTC).
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the whole first schema
    """
    CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'agent',
        seat INTEGER NOT NULL DEFAULT 1,
        availability TEXT NOT NULL DEFAULT 'available',
        working_hours TEXT,
        skills TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL
    );
    CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE team_members (
        team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        PRIMARY KEY (team_id, agent_id)
    );
    CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        owner_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE contact_identities (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        PRIMARY KEY (kind, value)
    ) WITHOUT ROWID;
    CREATE INDEX ix_identities_contact ON contact_identities(contact_id);
    CREATE TABLE consents (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        channel_id INTEGER,
        kind TEXT NOT NULL,
        granted INTEGER NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE pipelines (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE statuses (
        pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (pipeline_id, name)
    );
    CREATE TABLE channels (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL UNIQUE,
        enabled INTEGER NOT NULL DEFAULT 1,
        settings TEXT NOT NULL DEFAULT '{}',
        defaults TEXT NOT NULL DEFAULT '{}',
        routing TEXT NOT NULL DEFAULT '{}',
        health TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT '{}',
        removed INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        subject TEXT NOT NULL,
        pipeline TEXT NOT NULL,
        status TEXT NOT NULL,
        is_open INTEGER NOT NULL,
        prio INTEGER NOT NULL DEFAULT 1,
        channel_id INTEGER REFERENCES channels(id),
        contact_id INTEGER REFERENCES contacts(id),
        assignee_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
        team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
        source TEXT NOT NULL DEFAULT 'channel',
        unread INTEGER NOT NULL DEFAULT 1,
        thread_key TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        activity_at REAL NOT NULL,
        closed_at REAL
    );
    CREATE INDEX ix_t_open_act ON tickets(is_open, activity_at, id);
    CREATE INDEX ix_t_assignee ON tickets(assignee_id, is_open, activity_at, id);
    CREATE INDEX ix_t_channel ON tickets(channel_id, is_open, activity_at, id);
    CREATE INDEX ix_t_created ON tickets(is_open, created_at, id);
    CREATE INDEX ix_t_prio ON tickets(is_open, prio, activity_at, id);
    CREATE INDEX ix_t_contact ON tickets(contact_id, activity_at);
    CREATE INDEX ix_t_thread ON tickets(thread_key) WHERE thread_key IS NOT NULL;
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        direction TEXT NOT NULL,
        author_name TEXT NOT NULL DEFAULT '',
        author_email TEXT,
        agent_id INTEGER,
        contact_id INTEGER,
        text TEXT NOT NULL DEFAULT '',
        html TEXT,
        external_id TEXT,
        channel_id INTEGER,
        delivery_state TEXT NOT NULL DEFAULT 'none',
        delivery_error TEXT,
        created_at REAL NOT NULL
    );
    CREATE INDEX ix_m_ticket ON messages(ticket_id, created_at, id);
    CREATE INDEX ix_m_external ON messages(external_id) WHERE external_id IS NOT NULL;
    -- idempotency: one row per (channel, key) ever ingested
    CREATE TABLE inbound_keys (
        channel_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        message_id INTEGER,
        ticket_id INTEGER,
        PRIMARY KEY (channel_id, key)
    ) WITHOUT ROWID;
    -- every RFC 5322 Message-ID we stored or sent, for threading
    CREATE TABLE thread_ids (
        msgid TEXT PRIMARY KEY,
        ticket_id INTEGER NOT NULL,
        message_id INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE INDEX ix_a_message ON attachments(message_id);
    CREATE TABLE canned_replies (
        id INTEGER PRIMARY KEY, title TEXT NOT NULL UNIQUE, body TEXT NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        ticket_id INTEGER,
        origin TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        channel_id INTEGER,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        raw BLOB NOT NULL,
        resolved INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        message_id INTEGER,
        ticket_id INTEGER,
        channel_id INTEGER,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        created_at REAL NOT NULL,
        sent_at REAL
    );
    CREATE INDEX ix_outbox_due ON outbox(state, next_attempt_at);
    CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- tickets waiting for an eligible agent (routing found nobody available)
    CREATE TABLE routing_pending (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
        channel_id INTEGER NOT NULL,
        since REAL NOT NULL
    );
    CREATE TABLE auto_reply_log (sender TEXT NOT NULL, at REAL NOT NULL);
    CREATE INDEX ix_arl ON auto_reply_log(sender, at);
    CREATE VIRTUAL TABLE fts USING fts5(
        subject, body, ticket_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'
    );
    """,
    # 2: agents map OS users (identity comes from the real uid, never the environment)
    """
    ALTER TABLE agents ADD COLUMN os_user TEXT;
    CREATE UNIQUE INDEX ix_agents_os_user ON agents(os_user) WHERE os_user IS NOT NULL;
    """,
    # 3: how replies move a ticket through its pipeline (NULL: the pipeline's default)
    """
    ALTER TABLE pipelines ADD COLUMN after_reply TEXT;
    ALTER TABLE pipelines ADD COLUMN on_customer_reply TEXT;
    """,
    # 4: outbox ownership: the process delivering a 'sending' row and when it last said so, so a
    # process becoming the runner requeues only rows whose owner is gone (never a live send)
    """
    ALTER TABLE outbox ADD COLUMN owner TEXT;
    ALTER TABLE outbox ADD COLUMN heartbeat_at REAL;
    """,
    # 5: mail as real senders write it (issue 9): a content digest per inbound key, so a reused
    # Message-ID carrying another mail is told apart from a re-delivery; contacts whose address
    # was recovered from a malformed From line are unverified; an inbound message remembers
    # the Reply-To that answers go to when it is not the contact's address
    """
    ALTER TABLE inbound_keys ADD COLUMN digest TEXT;
    ALTER TABLE contacts ADD COLUMN unverified INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN reply_to TEXT;
    """,
    # 6: api tokens: the tickets API's bearer tokens (only a SHA-256 of each is kept; a name is
    # unique among the tokens in force) and the Idempotency-Key of each ticket created through
    # the API (a retry answers with the same ticket; the same key with another body is refused)
    """
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL,
        created_by INTEGER REFERENCES agents(id) ON DELETE SET NULL,
        last_used_at REAL,
        revoked_at REAL
    );
    CREATE UNIQUE INDEX ix_api_tokens_name ON api_tokens(name) WHERE revoked_at IS NULL;
    CREATE TABLE api_idempotency (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        PRIMARY KEY (agent_id, key)
    );
    """,
    # 7: the forms channel: form definitions (JSON of engine.form_defs.FormDef) and every
    # submission with all its fields — hidden ones too — for the contact's timeline
    """
    CREATE TABLE forms (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE form_submissions (
        id INTEGER PRIMARY KEY,
        form_slug TEXT NOT NULL,
        channel_id INTEGER REFERENCES channels(id) ON DELETE SET NULL,
        contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
        message_id INTEGER,
        fields TEXT NOT NULL,
        page_url TEXT,
        submitted_at REAL NOT NULL
    );
    CREATE INDEX ix_form_submissions_contact ON form_submissions(contact_id, submitted_at);
    """,
    # 8: presence: one row per open TUI session (engine/store/presence.py); a row whose
    # heartbeat is older than the TTL counts as gone. Public keys for the SSH server.
    """
    CREATE TABLE presence (
        session TEXT PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        ticket_id INTEGER,
        state TEXT NOT NULL DEFAULT 'online',
        via TEXT NOT NULL DEFAULT 'local',
        started_at REAL NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE INDEX ix_presence_seen ON presence(seen_at);
    CREATE TABLE agent_keys (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        added_at REAL NOT NULL,
        added_by INTEGER REFERENCES agents(id) ON DELETE SET NULL
    );
    CREATE INDEX ix_agent_keys_agent ON agent_keys(agent_id);
    """,
    # 9: webhook inbox (Messenger, WhatsApp): deliveries kept raw, processed after the 200;
    # consent records (GDPR on messaging channels), kept by the identity that gave them
    """
    CREATE TABLE webhook_inbox (
        id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL,
        body BLOB NOT NULL,
        received_at REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',
        held_for TEXT,
        error TEXT,
        done_at REAL
    );
    CREATE INDEX ix_webhook_inbox_state ON webhook_inbox(channel_id, state, id);
    CREATE TABLE consent_records (
        id INTEGER PRIMARY KEY,
        identity_kind TEXT NOT NULL,
        identity_value TEXT NOT NULL,
        channel_id INTEGER,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL
    );
    CREATE INDEX ix_consent_records_identity ON consent_records(identity_kind, identity_value);
    """,
    # 10: calls (issue 15): agents' phone numbers, one row per call, each callback taken once
    """
    ALTER TABLE agents ADD COLUMN phone TEXT;
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        call_sid TEXT,
        direction TEXT NOT NULL,
        from_number TEXT NOT NULL,
        to_number TEXT NOT NULL,
        customer TEXT NOT NULL,
        status TEXT NOT NULL,
        seq INTEGER NOT NULL DEFAULT -1,
        decision TEXT NOT NULL,
        answered_by TEXT,
        duration INTEGER,
        ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        agent_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
        voicemail INTEGER NOT NULL DEFAULT 0,
        recording_sid TEXT,
        recording_duration INTEGER,
        recording_file TEXT,
        recording_error TEXT,
        transcript_status TEXT,
        transcript TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX ix_calls_sid ON calls(channel_id, call_sid) WHERE call_sid IS NOT NULL;
    CREATE INDEX ix_calls_ticket ON calls(ticket_id);
    CREATE TABLE call_events (
        channel_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (channel_id, key)
    ) WITHOUT ROWID;
    """,
    # 11: one consent table. The base schema's ``consents`` (by contact) was never written:
    # consent is kept by identity in ``consent_records`` (migration 9), which follows merges.
    """
    DROP TABLE consents;
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; return the version now in force."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # re-check inside the write lock: another process may have migrated meanwhile
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current >= number:
                conn.execute("COMMIT")
                continue
            for statement in _split(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _split(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit for us)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
