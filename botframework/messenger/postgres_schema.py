"""The PostgreSQL store's tables, brought up to date by numbered migrations at every start.

Each migration runs once, in order, in the same transaction as the row recording it. The whole
upgrade holds a transaction-level advisory lock, so processes starting together take turns: the
first applies what is missing, the others find nothing left to do.
"""

from __future__ import annotations

import asyncpg

from botframework.messenger.sqlite_open import UnusableDatabase

#: Any fixed 64-bit number, the same in every process: the advisory lock the upgrade holds.
MIGRATION_LOCK = 0x626F_7466_7277_6B01

#: Migration ``n`` (1-based) brings a database at version ``n - 1`` to version ``n``.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE inbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        bot TEXT NOT NULL,
        page_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        timestamp BIGINT NOT NULL,
        event TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        reply TEXT,
        parts_sent INTEGER NOT NULL DEFAULT 0,
        finished_at DOUBLE PRECISION,
        error TEXT,
        retryable BOOLEAN NOT NULL DEFAULT FALSE
    );
    CREATE INDEX inbox_state ON inbox (state, bot, user_id, timestamp, id);
    CREATE INDEX inbox_user ON inbox (user_id, bot);
    CREATE INDEX inbox_received ON inbox (received_at);
    CREATE TABLE turns (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        bot TEXT NOT NULL,
        user_id TEXT NOT NULL,
        speaker TEXT NOT NULL,
        text TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX turns_user ON turns (bot, user_id, id);
    CREATE INDEX turns_at ON turns (at);
    CREATE TABLE user_profiles (
        bot TEXT NOT NULL,
        user_id TEXT NOT NULL,
        fields TEXT NOT NULL,
        fetched_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (bot, user_id)
    );
    """,
    """
    CREATE TABLE user_claims (
        bot TEXT NOT NULL,
        user_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (bot, user_id)
    );
    CREATE INDEX user_claims_owner ON user_claims (owner);
    CREATE INDEX user_claims_expiry ON user_claims (expires_at);
    """,
    """
    CREATE TABLE user_state (
        bot TEXT NOT NULL,
        user_id TEXT NOT NULL,
        state TEXT NOT NULL,
        saved_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (bot, user_id)
    );
    """,
)


async def migrate(db: asyncpg.Connection) -> int:
    """Apply the migrations ``db`` lacks; return the schema version it is at now.

    Raises :class:`UnusableDatabase` for a database made by a newer version of botframework.
    """
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await db.execute(
            "CREATE TABLE IF NOT EXISTS botframework_schema"
            " (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        version = await db.fetchval("SELECT coalesce(max(version), 0) FROM botframework_schema")
        if version > len(MIGRATIONS):
            raise UnusableDatabase(
                f"the store's schema is at version {version}, newer than this botframework "
                f"knows ({len(MIGRATIONS)}): upgrade botframework"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            await db.execute(MIGRATIONS[number - 1])
            await db.execute("INSERT INTO botframework_schema (version) VALUES ($1)", number)
    return len(MIGRATIONS)
