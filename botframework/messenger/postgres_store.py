"""A :class:`~botframework.messenger.store.Store` in PostgreSQL, shared by many server processes.

Dedupe is the ``inbox.key`` unique constraint, so a re-delivery that lands on another process is
still dropped. Before answering a user a process claims them (:mod:`postgres_claims`), so a
user's events are answered in order by one process at a time, and a dead process's users pass to
the others when its leases expire. The reply saved before sending and ``parts_sent`` work as in
SQLite: a process taking over sends the rest of a reply, not the reply again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from botframework.messenger import postgres_bookkeeping as sql
from botframework.messenger import postgres_claims as claims
from botframework.messenger.postgres_schema import migrate
from botframework.messenger.sqlite_open import UnusableDatabase
from botframework.messenger.store import NewEvent, Store, StoredEvent, StoredTurn
from botframework.messenger.store_rows import ENCODING_ERRORS, as_unstorable, inbox_rows

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: What a value PostgreSQL refuses (a NUL character), or JSON cannot encode, raises.
DATA_ERRORS = (*ENCODING_ERRORS, asyncpg.exceptions.DataError)
#: What an unreachable, refusing or misaddressed database raises.
CONNECTION_ERRORS = (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError)
#: Seconds a lease outlives its last renewal.
CLAIM_TIMEOUT_S = 30.0


class PostgresStore(Store):
    """The store at ``url`` (``postgresql://user@host:port/db``); connects on first use.

    ``claim_timeout`` is how long a dead process's users wait before another process takes them.
    Raises :class:`UnusableDatabase` (on first use, or from :meth:`connect`) when the database
    cannot be reached or was made by a newer botframework.
    """

    shared = True

    def __init__(self, url: str, claim_timeout: float = CLAIM_TIMEOUT_S, pool_size: int = 8):
        if claim_timeout <= 0:
            raise ValueError(f"claim_timeout must be positive, got {claim_timeout}")
        self.url, self.claim_timeout, self._pool_size = url, claim_timeout, pool_size
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool: asyncpg.Pool | None = None
        self._connecting = asyncio.Lock()
        self._renewing: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Open the connection pool and bring the schema up to date (once)."""
        async with self._connecting:
            if self._pool is not None:
                return
            try:
                pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self._pool_size)
            except CONNECTION_ERRORS as error:
                raise self._unusable(error) from None
            try:
                async with pool.acquire() as db:
                    await migrate(db)
            except BaseException as error:
                await pool.close()
                if isinstance(error, CONNECTION_ERRORS):
                    raise self._unusable(error) from None
                raise
            self._pool = pool
            self._renewing = asyncio.create_task(self._renew_leases(), name="renew-claims")

    def _unusable(self, error: BaseException) -> UnusableDatabase:
        problem = f"{type(error).__name__}: {error}"
        return UnusableDatabase(f"cannot use the store {redacted(self.url)}: {problem}")

    async def _run(
        self,
        query: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._pool is None:
            await self.connect()
        assert self._pool is not None
        async with self._pool.acquire() as db:
            return await query(db, *args, **kwargs)

    async def accept(self, events: list[NewEvent]) -> list[StoredEvent]:
        rows = inbox_rows(events)
        try:
            return await self._run(_in_transaction, sql.insert_new, events, rows)
        except asyncpg.exceptions.DataError as error:
            raise as_unstorable(error, DATA_ERRORS) from error

    async def pending(self) -> list[StoredEvent]:
        return await self._run(sql.pending_events)

    async def save_reply(self, event_id: int, reply: str | None) -> None:
        await self._run(_execute, "UPDATE inbox SET reply = $1 WHERE id = $2", reply, event_id)

    async def part_sent(self, event_id: int, parts_sent: int) -> None:
        await self._run(
            _execute, "UPDATE inbox SET parts_sent = $1 WHERE id = $2", parts_sent, event_id
        )

    async def finish(
        self,
        event_id: int,
        turns: list[StoredTurn],
        error: str | None = None,
        retryable: bool = False,
    ) -> None:
        await self._run(sql.finish, event_id, turns, error, retryable)

    async def retry_failed(
        self, received_after: float, bot: str | None = None, retryable_only: bool = False
    ) -> int:
        return await self._run(sql.retry_failed, received_after, bot, retryable_only)

    async def add_turns(self, bot: str, user_id: str, turns: list[StoredTurn]) -> None:
        await self._run(sql.insert_turns, bot, user_id, turns, time.time())

    async def recent_turns(self, bot: str, user_id: str, limit: int) -> list[StoredTurn]:
        if limit <= 0:
            return []
        return await self._run(sql.recent_turns, bot, user_id, limit)

    async def user_profile(self, bot: str, user_id: str) -> dict[str, str] | None:
        return await self._run(sql.read_per_user, "user_profiles", bot, user_id)

    async def save_user_profile(self, bot: str, user_id: str, fields: dict[str, str]) -> None:
        await self._run(sql.write_per_user, "user_profiles", bot, user_id, fields)

    async def user_state(self, bot: str, user_id: str) -> dict[str, Any]:
        """The plugins' state about a user (``Conversation.state``); {} when none was saved."""
        return await self._run(sql.read_per_user, "user_state", bot, user_id) or {}

    async def save_user_state(self, bot: str, user_id: str, state: dict[str, Any]) -> None:
        """Keep the plugins' state about a user (JSON values), replacing the saved one."""
        await self._run(sql.write_per_user, "user_state", bot, user_id, state)

    async def delete_user(self, user_id: str, bot: str | None = None) -> int:
        return await self._run(sql.delete_user, user_id, bot)

    async def purge(self, older_than: float, bot: str | None = None) -> int:
        return await self._run(sql.purge, older_than, bot)

    async def counts(self) -> dict[str, int]:
        return await self._run(sql.counts)

    async def claim_user(self, bot: str, user_id: str) -> bool:
        return await self._run(claims.claim, self.owner, self.claim_timeout, bot, user_id)

    async def user_pending(self, bot: str, user_id: str) -> list[StoredEvent]:
        return await self._run(sql.pending_events, (bot, user_id))

    async def release_user(self, bot: str, user_id: str, force: bool = False) -> bool:
        return await self._run(claims.release, self.owner, bot, user_id, force)

    async def unclaimed_users(self, bots: list[str]) -> list[tuple[str, str]]:
        return await self._run(claims.unclaimed_users, self.owner, self.claim_timeout, bots)

    async def close(self) -> None:
        """Release this process's leases (its pending events pass to the others) and the pool."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        if self._pool is not None:
            try:
                await self._run(claims.release_all, self.owner)
            except CONNECTION_ERRORS as error:
                log.warning("could not release this process's user leases (they expire): %s", error)
            finally:
                await self._pool.close()
                self._pool = None

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.claim_timeout / 3)
            try:
                await self._run(claims.renew, self.owner, self.claim_timeout)
            except CONNECTION_ERRORS as error:
                log.warning("renewing this process's user leases failed: %s", error)


async def check_reachable(url: str) -> None:
    """Connect to the store at ``url`` and migrate it, or raise :class:`UnusableDatabase`."""
    store = PostgresStore(url)
    try:
        await store.connect()
    finally:
        await store.close()


async def _execute(db: asyncpg.Connection, statement: str, *args: object) -> None:
    await db.execute(statement, *args)


async def _in_transaction(
    db: asyncpg.Connection,
    change: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    async with db.transaction():
        return await change(db, *args, **kwargs)


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
