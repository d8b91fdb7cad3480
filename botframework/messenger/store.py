"""The durable inbox and conversation state, behind a small interface.

:class:`Store` is what the server needs; :class:`~botframework.messenger.sqlite_store.SQLiteStore`
is the default, for one server process.
:class:`~botframework.messenger.postgres_store.PostgresStore` is shared by several processes (``serve --workers``, several machines behind a load balancer): the
database keeps keys unique across them, and a process claims a user (a lease that expires when the
process dies) before it answers that user's events, so one process at a time works on a user.
Turning events into rows and back, and refusing what no database can keep, is the same for every
engine (:mod:`botframework.messenger.store_rows`).

A message's life: ``accept`` (stored, deduplicated by its key) -> ``save_reply`` (the reply as JSON,
text and structured parts, so a restart sends the same thing) -> ``part_sent`` after each part the Send API accepted ->
``finish`` (done or failed, and the user's and bot's turns recorded in the same transaction).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class NewEvent:
    """An accepted webhook event, before it is stored."""

    key: str
    bot: str
    user_id: str
    kind: str
    timestamp: int
    event: dict[str, Any]
    page_id: str = ""


class UnstorableEvent(ValueError):
    """An event holds a value the store cannot keep; only the ``accept`` that brought it fails."""


@dataclass(frozen=True)
class StoredEvent:
    """An event in the inbox, with what was done about it so far."""

    id: int
    key: str
    bot: str
    user_id: str
    kind: str
    timestamp: int
    event: dict[str, Any]
    page_id: str
    received_at: float
    reply: str | None = None
    parts_sent: int = 0


@dataclass(frozen=True)
class StoredTurn:
    speaker: str  # "user" or "bot"
    text: str


class Store(ABC):
    """What the server needs from durable storage. Every method is safe to call concurrently.

    A store that one process has to itself keeps the default claim methods: every claim is granted.
    """

    #: True when other processes answer from the same inbox (the responder then claims users).
    shared: bool = False

    async def claim_user(self, bot: str, user_id: str) -> bool:
        """Take or renew this process's lease on a user's events; False while another holds it.

        A lease outlives its last renewal by the store's claim timeout, so a process that dies
        loses its users to the others; a live one renews its leases until it releases them.
        """
        return True

    async def user_pending(self, bot: str, user_id: str) -> list[StoredEvent]:
        """The user's events accepted (by any process) but not finished, oldest first."""
        return [e for e in await self.pending() if (e.bot, e.user_id) == (bot, user_id)]

    async def release_user(self, bot: str, user_id: str, force: bool = False) -> bool:
        """Give up the lease on a user unless events of theirs are pending (always when
        ``force``); True when released."""
        return True

    async def unclaimed_users(self, bots: list[str]) -> list[tuple[str, str]]:
        """Users of ``bots`` with pending events and no live lease (their process died), claimed
        now for this process."""
        return []

    @abstractmethod
    async def accept(self, events: list[NewEvent]) -> list[StoredEvent]:
        """Store ``events`` durably; return the ones not seen before (by key), in order.

        Raises :class:`UnstorableEvent` (and stores none of ``events``) when one of them holds a
        value the store cannot keep; concurrent calls are not affected by it.
        """

    @abstractmethod
    async def pending(self) -> list[StoredEvent]:
        """Events accepted but not finished, oldest first per user (for a restart)."""

    @abstractmethod
    async def save_reply(self, event_id: int, reply: str | None) -> None:
        """Remember the reply chosen for an event before any part of it is sent."""

    @abstractmethod
    async def part_sent(self, event_id: int, parts_sent: int) -> None:
        """Record that the first ``parts_sent`` parts of the reply were accepted."""

    @abstractmethod
    async def finish(
        self,
        event_id: int,
        turns: list[StoredTurn],
        error: str | None = None,
        retryable: bool = False,
    ) -> None:
        """Mark an event done (or failed when ``error``) and record its conversation turns.

        ``retryable`` marks a failure with a transient cause (a rate limit, an outage), which
        :meth:`retry_failed` can select."""

    @abstractmethod
    async def retry_failed(
        self, received_after: float, bot: str | None = None, retryable_only: bool = False
    ) -> int:
        """Make failed events received after ``received_after`` (epoch seconds) pending again,
        keeping their reply and the parts already sent; return how many."""

    @abstractmethod
    async def add_turns(self, bot: str, user_id: str, turns: list[StoredTurn]) -> None:
        """Record turns of a conversation that has no inbox events (the web chat)."""

    @abstractmethod
    async def recent_turns(self, bot: str, user_id: str, limit: int) -> list[StoredTurn]:
        """The last ``limit`` turns with a user, oldest first."""

    @abstractmethod
    async def user_profile(self, bot: str, user_id: str) -> dict[str, str] | None:
        """The profile fields cached for a user (``GET /{PSID}``); None when never fetched."""

    @abstractmethod
    async def save_user_profile(self, bot: str, user_id: str, fields: dict[str, str]) -> None:
        """Cache a user's profile fields (an empty dict: fetched, nothing to keep)."""

    @abstractmethod
    async def user_state(self, bot: str, user_id: str) -> dict[str, Any]:
        """The plugins' state about a user (``Conversation.state``); {} when none was saved."""

    @abstractmethod
    async def save_user_state(self, bot: str, user_id: str, state: dict[str, Any]) -> None:
        """Keep the plugins' state about a user (JSON values), replacing the saved one."""

    @abstractmethod
    async def delete_user(self, user_id: str, bot: str | None = None) -> int:
        """Delete everything stored about a user (of one bot, or all; turns, profile and state
        included); return rows deleted."""

    @abstractmethod
    async def purge(self, older_than: float, bot: str | None = None) -> int:
        """Delete finished events and turns older than ``older_than`` (epoch seconds)."""

    @abstractmethod
    async def counts(self) -> dict[str, int]:
        """Events per state (``pending``, ``done``, ``failed``)."""

    @abstractmethod
    async def close(self) -> None:
        """Release the database."""
