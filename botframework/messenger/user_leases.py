"""The responder's side of a store shared with other processes (``Store.shared``).

A user's events are answered only while this process holds the lease on the user, and they are
read from the store, which holds what every process accepted, rather than from this process's
queue. The lease is given up once the user has nothing pending (or at shutdown, so another
process goes on at once); users whose process died are found by polling.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from botframework.messenger.events import WebhookEvent, event_from_row
from botframework.messenger.store import Store, StoredEvent

log = logging.getLogger(__name__)

#: How often a process sharing its store looks for users no live process is answering.
UNCLAIMED_POLL_S = 1.0

User = tuple[str, str]  # (bot, user_id)
Queue = deque[tuple[StoredEvent, WebhookEvent]]


def typed(stored: StoredEvent) -> WebhookEvent:
    """The typed event of a stored row (after a restart, or read back from a shared store)."""
    return event_from_row(stored.kind, stored.page_id, stored.event, stored.timestamp)


class UserLeases:
    """Drains users under leases on ``store``; ``call`` runs a store call until it succeeds."""

    def __init__(self, store: Store, call: Callable[..., Awaitable[Any]]) -> None:
        self.store, self.call = store, call
        self.recheck: set[User] = set()  # users with news for a running worker

    async def drain(
        self,
        user: User,
        queue: Queue,
        answer: Callable[[Queue], Awaitable[None]],
        closing: Callable[[], bool],
    ) -> None:
        """Answer ``user``'s pending events with ``answer`` while this process holds the lease."""
        tried: set[int] = set()
        try:
            while not closing() and await self.call(self.store.claim_user, *user):
                self.recheck.discard(user)
                pending = await self.call(self.store.user_pending, *user)
                fresh = [event for event in pending if event.id not in tried]
                if not fresh:
                    # Events that failed here stay pending: another process, or a later poll, tries.
                    if await self.call(self.store.release_user, *user, force=bool(pending)):
                        return
                    continue
                tried.update(event.id for event in fresh)
                queue.extend((event, typed(event)) for event in fresh)
                await answer(queue)
        finally:
            queue.clear()
            if closing():
                await asyncio.shield(self._give_up(user))

    async def poll(self, bots: list[str], start: Callable[[User], None]) -> None:
        """Every :data:`UNCLAIMED_POLL_S`, ``start`` the users no live process is answering."""
        while True:
            await asyncio.sleep(UNCLAIMED_POLL_S)
            try:
                users = await self.store.unclaimed_users(bots)
            except Exception as error:  # noqa: BLE001 - polled again in a moment
                log.warning("looking for unanswered users failed: %s", error)
                continue
            for user in users:
                start(user)

    async def _give_up(self, user: User) -> None:
        try:
            await self.store.release_user(*user, force=True)
        except Exception as error:  # noqa: BLE001 - the lease then expires on its own
            log.warning("could not release user %s at shutdown: %s", user, error)
