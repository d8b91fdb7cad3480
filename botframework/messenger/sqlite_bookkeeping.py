"""The responder's bookkeeping in SQLite: what it still owes, what it sent, the conversation so far.

Each function runs on the store's own connection; the ones that write run in one transaction.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from botframework.messenger.sqlite_profiles import delete_profiles
from botframework.messenger.store import DONE, FAILED, PENDING, StoredEvent, StoredTurn
from botframework.messenger.store_rows import SELECTED, stored_event


def pending_events(db: sqlite3.Connection) -> list[StoredEvent]:
    rows = db.execute(
        f"SELECT {SELECTED} FROM inbox WHERE state = ? ORDER BY bot, user_id, timestamp, id",
        (PENDING,),
    ).fetchall()
    return [stored_event(row) for row in rows]


def save_reply(db: sqlite3.Connection, event_id: int, reply: str | None) -> None:
    db.execute("UPDATE inbox SET reply = ? WHERE id = ?", (reply, event_id))


def record_parts_sent(db: sqlite3.Connection, event_id: int, parts_sent: int) -> None:
    db.execute("UPDATE inbox SET parts_sent = ? WHERE id = ?", (parts_sent, event_id))


def finish(
    db: sqlite3.Connection,
    event_id: int,
    turns: list[StoredTurn],
    error: str | None,
    retryable: bool,
) -> None:
    row = db.execute("SELECT bot, user_id FROM inbox WHERE id = ?", (event_id,)).fetchone()
    if row is None:  # the user's data was deleted meanwhile
        return
    now = time.time()
    db.execute(
        "UPDATE inbox SET state = ?, finished_at = ?, error = ?, retryable = ? WHERE id = ?",
        (FAILED if error else DONE, now, error, int(bool(error and retryable)), event_id),
    )
    insert_turns(db, row[0], row[1], turns, now)


def retry_failed(
    db: sqlite3.Connection, received_after: float, bot: str | None, retryable_only: bool
) -> int:
    which = "state = ? AND received_at > ?" + (" AND retryable = 1" if retryable_only else "")
    args: tuple[Any, ...] = (FAILED, received_after)
    if bot is not None:
        which, args = which + " AND bot = ?", (*args, bot)
    sql = (
        "UPDATE inbox SET state = ?, finished_at = NULL, error = NULL, retryable = 0"
        f" WHERE {which}"
    )
    return db.execute(sql, (PENDING, *args)).rowcount


def insert_turns(
    db: sqlite3.Connection, bot: str, user_id: str, turns: list[StoredTurn], now: float
) -> None:
    db.executemany(
        "INSERT INTO turns (bot, user_id, speaker, text, at) VALUES (?, ?, ?, ?, ?)",
        [(bot, user_id, turn.speaker, turn.text, now) for turn in turns],
    )


def recent_turns(db: sqlite3.Connection, bot: str, user_id: str, limit: int) -> list[StoredTurn]:
    rows = db.execute(
        "SELECT speaker, text FROM turns WHERE bot = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
        (bot, user_id, limit),
    ).fetchall()
    return [StoredTurn(speaker, text) for speaker, text in reversed(rows)]


def delete_user(db: sqlite3.Connection, user_id: str, bot: str | None) -> int:
    where, args = ("user_id = ?", (user_id,))
    if bot is not None:
        where, args = "user_id = ? AND bot = ?", (user_id, bot)
    deleted = db.execute(f"DELETE FROM inbox WHERE {where}", args).rowcount
    deleted += delete_profiles(db, where, args)
    return deleted + db.execute(f"DELETE FROM turns WHERE {where}", args).rowcount


def purge(db: sqlite3.Connection, older_than: float, bot: str | None) -> int:
    which, args = ("", ()) if bot is None else (" AND bot = ?", (bot,))
    deleted = db.execute(
        f"DELETE FROM inbox WHERE received_at < ? AND state != ?{which}",
        (older_than, PENDING, *args),
    ).rowcount
    turns = db.execute(f"DELETE FROM turns WHERE at < ?{which}", (older_than, *args)).rowcount
    return deleted + turns


def counts(db: sqlite3.Connection) -> dict[str, int]:
    rows = db.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state").fetchall()
    return {PENDING: 0, DONE: 0, FAILED: 0, **dict(rows)}
