"""The PostgreSQL store's statements: the inbox, the responder's bookkeeping, turns and profiles.

Each function takes a connection (in a transaction where it writes more than one table).
"""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg

from botframework.messenger.store import (
    DONE,
    FAILED,
    PENDING,
    NewEvent,
    StoredEvent,
    StoredTurn,
)
from botframework.messenger.store_rows import (
    INSERTED,
    SELECTED,
    InboxRow,
    accepted_event,
    stored_event,
)

INSERT = (
    f"INSERT INTO inbox ({INSERTED}, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (key) DO NOTHING RETURNING id"
)


def changed(status: str) -> int:
    """The row count in a command status such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])


async def insert_new(
    db: asyncpg.Connection, events: list[NewEvent], rows: list[InboxRow]
) -> list[StoredEvent]:
    """Insert ``rows``; the events whose key the unique constraint had not seen."""
    now, fresh = time.time(), []
    for event, row in zip(events, rows, strict=True):
        event_id = await db.fetchval(INSERT, *row, now)
        if event_id is not None:
            fresh.append(accepted_event(event, event_id, now))
    return fresh


async def pending_events(
    db: asyncpg.Connection, user: tuple[str, str] | None = None
) -> list[StoredEvent]:
    """Every pending event (or one user's), oldest first per user."""
    which, args = ("", ()) if user is None else (" AND bot = $2 AND user_id = $3", user)
    rows = await db.fetch(
        f"SELECT {SELECTED} FROM inbox WHERE state = $1{which}"
        " ORDER BY bot, user_id, timestamp, id",
        PENDING,
        *args,
    )
    return [stored_event(tuple(row)) for row in rows]


async def finish(
    db: asyncpg.Connection,
    event_id: int,
    turns: list[StoredTurn],
    error: str | None,
    retryable: bool,
) -> None:
    async with db.transaction():
        row = await db.fetchrow("SELECT bot, user_id FROM inbox WHERE id = $1", event_id)
        if row is None:  # the user's data was deleted meanwhile
            return
        now = time.time()
        await db.execute(
            "UPDATE inbox SET state = $1, finished_at = $2, error = $3, retryable = $4"
            " WHERE id = $5",
            FAILED if error else DONE,
            now,
            error,
            bool(error and retryable),
            event_id,
        )
        await insert_turns(db, row["bot"], row["user_id"], turns, now)


async def retry_failed(
    db: asyncpg.Connection, received_after: float, bot: str | None, retryable_only: bool
) -> int:
    which = "state = $2 AND received_at > $3" + (" AND retryable" if retryable_only else "")
    args: tuple[object, ...] = (FAILED, received_after)
    if bot is not None:
        which, args = which + " AND bot = $4", (*args, bot)
    status = await db.execute(
        "UPDATE inbox SET state = $1, finished_at = NULL, error = NULL, retryable = FALSE"
        f" WHERE {which}",
        PENDING,
        *args,
    )
    return changed(status)


async def insert_turns(
    db: asyncpg.Connection, bot: str, user_id: str, turns: list[StoredTurn], now: float
) -> None:
    await db.executemany(
        "INSERT INTO turns (bot, user_id, speaker, text, at) VALUES ($1, $2, $3, $4, $5)",
        [(bot, user_id, turn.speaker, turn.text, now) for turn in turns],
    )


async def recent_turns(
    db: asyncpg.Connection, bot: str, user_id: str, limit: int
) -> list[StoredTurn]:
    rows = await db.fetch(
        "SELECT speaker, text FROM turns WHERE bot = $1 AND user_id = $2 ORDER BY id DESC"
        " LIMIT $3",
        bot,
        user_id,
        limit,
    )
    return [StoredTurn(row["speaker"], row["text"]) for row in reversed(rows)]


async def delete_user(db: asyncpg.Connection, user_id: str, bot: str | None) -> int:
    where, args = ("user_id = $1", (user_id,))
    if bot is not None:
        where, args = "user_id = $1 AND bot = $2", (user_id, bot)
    async with db.transaction():
        deleted = 0
        for table in ("inbox", "user_profiles", "user_state", "turns"):
            deleted += changed(await db.execute(f"DELETE FROM {table} WHERE {where}", *args))
    return deleted


async def purge(db: asyncpg.Connection, older_than: float, bot: str | None) -> int:
    which, args = ("", ()) if bot is None else (" AND bot = $3", (bot,))
    async with db.transaction():
        deleted = await db.execute(
            f"DELETE FROM inbox WHERE received_at < $1 AND state != $2{which}",
            older_than,
            PENDING,
            *args,
        )
        turns_which = which.replace("$3", "$2")
        turns = await db.execute(f"DELETE FROM turns WHERE at < $1{turns_which}", older_than, *args)
    return changed(deleted) + changed(turns)


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT state, COUNT(*) FROM inbox GROUP BY state")
    return {PENDING: 0, DONE: 0, FAILED: 0, **{row[0]: row[1] for row in rows}}


#: Each per-user table and its JSON column and time column (fixed names, never user input).
PER_USER = {"user_profiles": ("fields", "fetched_at"), "user_state": ("state", "saved_at")}


async def read_per_user(db: asyncpg.Connection, table: str, bot: str, user_id: str) -> Any:
    """The JSON value ``table`` keeps about a user; None when there is none."""
    column = PER_USER[table][0]
    value = await db.fetchval(
        f"SELECT {column} FROM {table} WHERE bot = $1 AND user_id = $2", bot, user_id
    )
    return None if value is None else json.loads(value)


async def write_per_user(
    db: asyncpg.Connection, table: str, bot: str, user_id: str, value: Any
) -> None:
    """Keep ``value`` (JSON) as what ``table`` knows about a user, replacing the old one."""
    column, at = PER_USER[table]
    await db.execute(
        f"INSERT INTO {table} (bot, user_id, {column}, {at}) VALUES ($1, $2, $3, $4)"
        f" ON CONFLICT (bot, user_id) DO UPDATE SET {column} = EXCLUDED.{column},"
        f" {at} = EXCLUDED.{at}",
        bot,
        user_id,
        json.dumps(value, ensure_ascii=False),
        time.time(),
    )
