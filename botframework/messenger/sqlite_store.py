"""The default :class:`~botframework.messenger.store.Store`: one SQLite file in WAL mode.

Accepted events are committed with ``synchronous=FULL`` (an acknowledged message survives
``kill -9`` and power loss), concurrent webhook POSTs sharing one commit. The bookkeeping after a
reply uses ``synchronous=NORMAL``: it survives ``kill -9``; a power loss could at worst forget
that a reply went out, and send it again.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from botframework.messenger.group_commit import GroupCommit
from botframework.messenger.payload import fits_in_64_bits
from botframework.messenger.sqlite_open import UnusableDatabase, connect, refuse_half_deleted
from botframework.messenger.sqlite_profiles import (
    PROFILES_SCHEMA,
    delete_profiles,
    read_profile,
    write_profile,
)
from botframework.messenger.store import (
    DONE,
    FAILED,
    PENDING,
    NewEvent,
    Store,
    StoredEvent,
    StoredTurn,
    UnstorableEvent,
)

T = TypeVar("T")
#: The inbox columns an accepted event fills, ``received_at`` aside.
_Row = tuple[str, str, str, str, str, int, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    bot TEXT NOT NULL,
    page_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    event TEXT NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    reply TEXT,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    finished_at REAL,
    error TEXT,
    retryable INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox (state, bot, user_id, timestamp, id);
CREATE INDEX IF NOT EXISTS inbox_user ON inbox (user_id, bot);
CREATE INDEX IF NOT EXISTS inbox_received ON inbox (received_at);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    user_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_user ON turns (bot, user_id, id);
CREATE INDEX IF NOT EXISTS turns_at ON turns (at);
"""

_COLUMNS = "id, key, bot, user_id, kind, timestamp, event, page_id, received_at, reply, parts_sent"


class SQLiteStore(Store):
    """The default store: one SQLite file, used from one dedicated thread (never the event loop).

    Raises :class:`UnusableDatabase` for a damaged or half-deleted database, never starting over.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        refuse_half_deleted(self.path)
        # Webhook acks get a connection and thread of their own, so they never queue behind the
        # responder's bookkeeping; SQLite serialises the two writers with a short lock.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        self._inbox_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-inbox")
        try:
            self._db: sqlite3.Connection | None = self._executor.submit(
                self._open, "NORMAL", True
            ).result()
            self._inbox_db: sqlite3.Connection | None = self._inbox_executor.submit(
                self._open, "FULL", False
            ).result()
        except UnusableDatabase:
            self._executor.shutdown()
            self._inbox_executor.shutdown()
            raise
        # Concurrent webhook POSTs share one commit (and its fsync).
        self._accepting = GroupCommit(self._insert_in_one_transaction, _DATA_ERRORS, _classified)

    def _open(self, synchronous: str, check: bool) -> sqlite3.Connection:
        db = connect(self.path, synchronous, _SCHEMA + PROFILES_SCHEMA, check)
        _add_missing_columns(db)
        return db

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _transaction(
        self, function: Callable[[sqlite3.Connection], T], db: sqlite3.Connection | None = None
    ) -> T:
        db = db or self._db
        assert db is not None, "store is closed"
        db.execute("BEGIN IMMEDIATE")
        try:
            result = function(db)
            db.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk); a failed COMMIT leaves it open.
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    async def accept(self, events: list[NewEvent]) -> list[StoredEvent]:
        rows = _rows(events)  # a bad value fails this call here, before the shared write
        return await self._accepting.submit((events, rows))

    async def _insert_in_one_transaction(
        self, batch: list[tuple[list[NewEvent], list[_Row]]]
    ) -> list[list[StoredEvent]]:
        def insert_all(db: sqlite3.Connection) -> list[list[StoredEvent]]:
            return [self._insert(db, events, rows) for events, rows in batch]

        return await asyncio.get_running_loop().run_in_executor(
            self._inbox_executor, self._transaction, insert_all, self._inbox_db
        )

    @staticmethod
    def _insert(
        db: sqlite3.Connection, events: list[NewEvent], rows: list[_Row]
    ) -> list[StoredEvent]:
        now, fresh = time.time(), []
        for event, row in zip(events, rows, strict=True):
            cursor = db.execute(
                "INSERT OR IGNORE INTO inbox (key, bot, page_id, user_id, kind, timestamp, event,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, now),
            )
            if cursor.rowcount:
                fresh.append(
                    StoredEvent(
                        cursor.lastrowid or 0,
                        event.key,
                        event.bot,
                        event.user_id,
                        event.kind,
                        event.timestamp,
                        event.event,
                        event.page_id,
                        now,
                    )
                )
        return fresh

    async def pending(self) -> list[StoredEvent]:
        def query() -> list[StoredEvent]:
            assert self._db is not None
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM inbox WHERE state = ?"
                " ORDER BY bot, user_id, timestamp, id",
                (PENDING,),
            ).fetchall()
            return [_stored(row) for row in rows]

        return await self._run(query)

    async def save_reply(self, event_id: int, reply: str | None) -> None:
        await self._write("UPDATE inbox SET reply = ? WHERE id = ?", (reply, event_id))

    async def part_sent(self, event_id: int, parts_sent: int) -> None:
        await self._write("UPDATE inbox SET parts_sent = ? WHERE id = ?", (parts_sent, event_id))

    async def finish(
        self,
        event_id: int,
        turns: list[StoredTurn],
        error: str | None = None,
        retryable: bool = False,
    ) -> None:
        def update(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT bot, user_id FROM inbox WHERE id = ?", (event_id,)).fetchone()
            if row is None:  # the user's data was deleted meanwhile
                return
            now = time.time()
            db.execute(
                "UPDATE inbox SET state = ?, finished_at = ?, error = ?, retryable = ?"
                " WHERE id = ?",
                (FAILED if error else DONE, now, error, int(bool(error and retryable)), event_id),
            )
            self._insert_turns(db, row[0], row[1], turns, now)

        await self._run(self._transaction, update)

    async def retry_failed(
        self, received_after: float, bot: str | None = None, retryable_only: bool = False
    ) -> int:
        which = "state = ? AND received_at > ?" + (" AND retryable = 1" if retryable_only else "")
        args: tuple[Any, ...] = (FAILED, received_after)
        if bot is not None:
            which, args = which + " AND bot = ?", (*args, bot)
        sql = (
            "UPDATE inbox SET state = ?, finished_at = NULL, error = NULL, retryable = 0"
            f" WHERE {which}"
        )
        return await self._run(
            self._transaction, lambda db: db.execute(sql, (PENDING, *args)).rowcount
        )

    async def add_turns(self, bot: str, user_id: str, turns: list[StoredTurn]) -> None:
        await self._run(
            self._transaction, lambda db: self._insert_turns(db, bot, user_id, turns, time.time())
        )

    @staticmethod
    def _insert_turns(
        db: sqlite3.Connection, bot: str, user_id: str, turns: list[StoredTurn], now: float
    ) -> None:
        db.executemany(
            "INSERT INTO turns (bot, user_id, speaker, text, at) VALUES (?, ?, ?, ?, ?)",
            [(bot, user_id, turn.speaker, turn.text, now) for turn in turns],
        )

    async def recent_turns(self, bot: str, user_id: str, limit: int) -> list[StoredTurn]:
        if limit <= 0:
            return []

        def query() -> list[StoredTurn]:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT speaker, text FROM turns WHERE bot = ? AND user_id = ?"
                " ORDER BY id DESC LIMIT ?",
                (bot, user_id, limit),
            ).fetchall()
            return [StoredTurn(speaker, text) for speaker, text in reversed(rows)]

        return await self._run(query)

    async def delete_user(self, user_id: str, bot: str | None = None) -> int:
        def delete(db: sqlite3.Connection) -> int:
            where, args = (
                ("user_id = ?", (user_id,))
                if bot is None
                else (
                    "user_id = ? AND bot = ?",
                    (user_id, bot),
                )
            )
            deleted = db.execute(f"DELETE FROM inbox WHERE {where}", args).rowcount
            deleted += delete_profiles(db, where, args)
            return deleted + db.execute(f"DELETE FROM turns WHERE {where}", args).rowcount

        return await self._run(self._transaction, delete)

    async def user_profile(self, bot: str, user_id: str) -> dict[str, str] | None:
        return await self._run(self._transaction, lambda db: read_profile(db, bot, user_id))

    async def save_user_profile(self, bot: str, user_id: str, fields: dict[str, str]) -> None:
        await self._run(self._transaction, lambda db: write_profile(db, bot, user_id, fields))

    async def purge(self, older_than: float, bot: str | None = None) -> int:
        which, args = ("", ()) if bot is None else (" AND bot = ?", (bot,))

        def delete(db: sqlite3.Connection) -> int:
            deleted = db.execute(
                f"DELETE FROM inbox WHERE received_at < ? AND state != ?{which}",
                (older_than, PENDING, *args),
            ).rowcount
            return (
                deleted
                + db.execute(f"DELETE FROM turns WHERE at < ?{which}", (older_than, *args)).rowcount
            )

        return await self._run(self._transaction, delete)

    async def counts(self) -> dict[str, int]:
        def query() -> dict[str, int]:
            assert self._db is not None
            rows = self._db.execute("SELECT state, COUNT(*) FROM inbox GROUP BY state").fetchall()
            return {PENDING: 0, DONE: 0, FAILED: 0, **dict(rows)}

        return await self._run(query)

    async def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        await self._run(self._transaction, lambda db: db.execute(sql, args))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await self._accepting.drain()
        for executor, name in ((self._inbox_executor, "_inbox_db"), (self._executor, "_db")):

            def close(name: str = name) -> None:
                db = getattr(self, name)
                if db is not None:
                    db.close()
                    setattr(self, name, None)

            await loop.run_in_executor(executor, close)
            executor.shutdown(wait=True)


#: What a value SQLite cannot bind, or JSON cannot encode, raises.
_DATA_ERRORS = (ValueError, TypeError, OverflowError, RecursionError, sqlite3.DataError)


def _rows(events: list[NewEvent]) -> list[_Row]:
    """The inbox columns of ``events``; :class:`UnstorableEvent` when one cannot be stored."""
    rows = []
    for event in events:
        try:
            row = (
                event.key,
                event.bot,
                event.page_id,
                event.user_id,
                event.kind,
                event.timestamp,
                json.dumps(event.event, ensure_ascii=False),
            )
            _check_storable(row)
        except _DATA_ERRORS as error:
            raise UnstorableEvent(f"event {event.key[:80]!a}: {error}") from error
        rows.append(row)
    return rows


def _check_storable(row: _Row) -> None:
    for value in row:
        if isinstance(value, str):
            value.encode()  # a lone surrogate raises here
        elif isinstance(value, int) and not fits_in_64_bits(value):
            raise OverflowError("integer does not fit in 64 bits")


def _classified(error: Exception) -> Exception:
    """A data error as :class:`UnstorableEvent`; anything else (disk, locks) as it is."""
    if isinstance(error, _DATA_ERRORS) and not isinstance(error, UnstorableEvent):
        unstorable = UnstorableEvent(str(error))
        unstorable.__cause__ = error
        return unstorable
    return error


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to the current schema."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(inbox)")}
    if "retryable" not in columns:
        db.execute("ALTER TABLE inbox ADD COLUMN retryable INTEGER NOT NULL DEFAULT 0")


def _stored(row: tuple[Any, ...]) -> StoredEvent:
    (id_, key, bot, user_id, kind, timestamp, event, page_id, received_at, reply, parts) = row
    return StoredEvent(
        id_,
        key,
        bot,
        user_id,
        kind,
        timestamp,
        json.loads(event),
        page_id,
        received_at,
        reply,
        parts,
    )
