"""One SQLite connection with a thread of its own, so the event loop never waits on the disk."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, TypeVarTuple

from botframework.messenger.sqlite_schema import open_store_database

Args = TypeVarTuple("Args")
T = TypeVar("T")


class DedicatedConnection:
    """A connection to the store at ``path``, used only from its own thread named ``name``.

    Raises :class:`~botframework.messenger.sqlite_open.UnusableDatabase` when the file cannot be
    used as it is.
    """

    def __init__(self, path: Path, synchronous: str, check: bool, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        try:
            opening = self._executor.submit(open_store_database, path, synchronous, check)
            self._db: sqlite3.Connection | None = opening.result()
        except BaseException:
            self._executor.shutdown()
            raise

    async def read(
        self, query: Callable[[sqlite3.Connection, *Args], T], *args: *Args
    ) -> T:
        """``query(db, *args)`` on the connection's thread."""
        return await self._on_thread(query, self._open_db(), *args)

    async def write(
        self, change: Callable[[sqlite3.Connection, *Args], T], *args: *Args
    ) -> T:
        """``change(db, *args)`` in one transaction on the connection's thread."""
        return await self._on_thread(in_transaction, self._open_db(), change, *args)

    async def close(self) -> None:
        await self._on_thread(self._close_db)
        self._executor.shutdown(wait=True)

    def close_now(self) -> None:
        """:meth:`close` for a caller outside the event loop."""
        self._executor.submit(self._close_db).result()
        self._executor.shutdown(wait=True)

    async def _on_thread(self, function: Callable[[*Args], T], *args: *Args) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def _open_db(self) -> sqlite3.Connection:
        assert self._db is not None, "store is closed"
        return self._db

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def in_transaction(
    db: sqlite3.Connection,
    change: Callable[[sqlite3.Connection, *Args], T],
    *args: *Args,
) -> T:
    """``change(db, *args)`` committed as one transaction, or rolled back if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = change(db, *args)
        db.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (a full disk); a failed COMMIT leaves it open.
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return result
