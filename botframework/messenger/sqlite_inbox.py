"""Accepting webhook events into the SQLite inbox: concurrent POSTs share one durable commit."""

from __future__ import annotations

import sqlite3
import time

from botframework.messenger.group_commit import GroupCommit
from botframework.messenger.sqlite_connection import DedicatedConnection
from botframework.messenger.store import NewEvent, StoredEvent
from botframework.messenger.store_rows import (
    ENCODING_ERRORS,
    INSERTED,
    InboxRow,
    accepted_event,
    as_unstorable,
    inbox_rows,
)

#: What a value SQLite cannot bind, or JSON cannot encode, raises.
DATA_ERRORS = (*ENCODING_ERRORS, sqlite3.DataError)

_Accept = tuple[list[NewEvent], list[InboxRow]]


class SQLiteInbox:
    """The insert side of the store, on a connection of its own committing with
    ``synchronous=FULL``, so webhook acks never queue behind the responder's bookkeeping."""

    def __init__(self, connection: DedicatedConnection) -> None:
        self._connection = connection
        # Concurrent webhook POSTs share one commit (and its fsync).
        self._accepting: GroupCommit[_Accept, list[StoredEvent]] = GroupCommit(
            self._insert_in_one_transaction,
            DATA_ERRORS,
            lambda error: as_unstorable(error, DATA_ERRORS),
        )

    async def accept(self, events: list[NewEvent]) -> list[StoredEvent]:
        rows = inbox_rows(events)  # a bad value fails this call here, before the shared write
        return await self._accepting.submit((events, rows))

    async def close(self) -> None:
        await self._accepting.drain()
        await self._connection.close()

    async def _insert_in_one_transaction(self, batch: list[_Accept]) -> list[list[StoredEvent]]:
        def insert_all(db: sqlite3.Connection) -> list[list[StoredEvent]]:
            return [insert_new(db, events, rows) for events, rows in batch]

        return await self._connection.write(insert_all)


def insert_new(
    db: sqlite3.Connection, events: list[NewEvent], rows: list[InboxRow]
) -> list[StoredEvent]:
    """Insert the ``rows`` of ``events``; return the events whose key was not stored before."""
    now, fresh = time.time(), []
    for event, row in zip(events, rows, strict=True):
        cursor = db.execute(
            f"INSERT OR IGNORE INTO inbox ({INSERTED}, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, now),
        )
        if cursor.rowcount:
            fresh.append(accepted_event(event, cursor.lastrowid or 0, now))
    return fresh
