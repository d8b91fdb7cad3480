"""The default :class:`~botframework.messenger.store.Store`: one SQLite file in WAL mode.

Accepted events are committed with ``synchronous=FULL`` (an acknowledged message survives
``kill -9`` and power loss), concurrent webhook POSTs sharing one commit. The bookkeeping after a
reply uses ``synchronous=NORMAL``: it survives ``kill -9``; a power loss could at worst forget
that a reply went out, and send it again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from botframework.messenger import sqlite_bookkeeping as bookkeeping
from botframework.messenger.sqlite_connection import DedicatedConnection
from botframework.messenger.sqlite_inbox import SQLiteInbox
from botframework.messenger.sqlite_open import refuse_half_deleted
from botframework.messenger.sqlite_profiles import (
    read_profile,
    read_state,
    write_profile,
    write_state,
)
from botframework.messenger.store import NewEvent, Store, StoredEvent, StoredTurn


class SQLiteStore(Store):
    """The default store: one SQLite file, used from dedicated threads (never the event loop).

    Raises :class:`~botframework.messenger.sqlite_open.UnusableDatabase` for a damaged or
    half-deleted database, never starting over.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        refuse_half_deleted(self.path)
        self._bookkeeping = DedicatedConnection(self.path, "NORMAL", True, "sqlite-store")
        try:
            # SQLite serialises the two writers with a short lock.
            inbox = DedicatedConnection(self.path, "FULL", False, "sqlite-inbox")
        except BaseException:
            self._bookkeeping.close_now()
            raise
        self._inbox = SQLiteInbox(inbox)

    async def accept(self, events: list[NewEvent]) -> list[StoredEvent]:
        return await self._inbox.accept(events)

    async def pending(self) -> list[StoredEvent]:
        return await self._bookkeeping.read(bookkeeping.pending_events)

    async def save_reply(self, event_id: int, reply: str | None) -> None:
        await self._bookkeeping.write(bookkeeping.save_reply, event_id, reply)

    async def part_sent(self, event_id: int, parts_sent: int) -> None:
        await self._bookkeeping.write(bookkeeping.record_parts_sent, event_id, parts_sent)

    async def finish(
        self,
        event_id: int,
        turns: list[StoredTurn],
        error: str | None = None,
        retryable: bool = False,
    ) -> None:
        await self._bookkeeping.write(bookkeeping.finish, event_id, turns, error, retryable)

    async def retry_failed(
        self, received_after: float, bot: str | None = None, retryable_only: bool = False
    ) -> int:
        return await self._bookkeeping.write(
            bookkeeping.retry_failed, received_after, bot, retryable_only
        )

    async def add_turns(self, bot: str, user_id: str, turns: list[StoredTurn]) -> None:
        await self._bookkeeping.write(bookkeeping.insert_turns, bot, user_id, turns, time.time())

    async def recent_turns(self, bot: str, user_id: str, limit: int) -> list[StoredTurn]:
        if limit <= 0:
            return []
        return await self._bookkeeping.read(bookkeeping.recent_turns, bot, user_id, limit)

    async def delete_user(self, user_id: str, bot: str | None = None) -> int:
        return await self._bookkeeping.write(bookkeeping.delete_user, user_id, bot)

    async def user_profile(self, bot: str, user_id: str) -> dict[str, str] | None:
        return await self._bookkeeping.read(read_profile, bot, user_id)

    async def save_user_profile(self, bot: str, user_id: str, fields: dict[str, str]) -> None:
        await self._bookkeeping.write(write_profile, bot, user_id, fields)

    async def user_state(self, bot: str, user_id: str) -> dict[str, Any]:
        return await self._bookkeeping.read(read_state, bot, user_id)

    async def save_user_state(self, bot: str, user_id: str, state: dict[str, Any]) -> None:
        await self._bookkeeping.write(write_state, bot, user_id, state)

    async def purge(self, older_than: float, bot: str | None = None) -> int:
        return await self._bookkeeping.write(bookkeeping.purge, older_than, bot)

    async def counts(self) -> dict[str, int]:
        return await self._bookkeeping.read(bookkeeping.counts)

    async def close(self) -> None:
        await self._inbox.close()
        await self._bookkeeping.close()
