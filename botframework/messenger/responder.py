"""Works through the inbox: one user's messages in order, different users in parallel.

A message is finished (``done``) only after the Send API accepted every part of its reply; until
then it stays ``pending`` in the store and a restart picks it up again. Store calls are retried
until they succeed (:class:`StoreHealth`), so a failing database holds a user's queue, never
drops it. Each event is parsed once: the webhook hands over its typed events; after a restart they
are read back from their rows (:func:`~botframework.messenger.events.event_from_row`). Replies are
made by :func:`~botframework.messenger.answering.answer`, the web chat's way too.
On a store shared with other processes, a user is answered under a lease (:mod:`user_leases`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from botframework.messenger.answering import answer, load_state, save_state
from botframework.messenger.backoff import MESSAGING_WINDOW_S
from botframework.messenger.events import Postback, UserMessage, WebhookEvent
from botframework.messenger.messaging_window import (
    OutsideMessagingWindow,
    check_window,
    window_closes_at,
)
from botframework.messenger.metrics import Metrics
from botframework.messenger.runtime import BotRuntime, while_generating
from botframework.messenger.outgoing import messages_for
from botframework.messenger.send_api import GraphApiError, SendApi, TransportError
from botframework.messenger.store import Store, StoredEvent, StoredTurn
from botframework.messenger.store_health import StoreHealth
from botframework.messenger.user_leases import UserLeases, typed
from botframework.messenger.user_profiles import UserProfiles
from botframework.pipeline import Conversation, Reply
from botframework.reply_parts import Handover

log = logging.getLogger(__name__)

#: Messenger turns typing off after 20 s; re-send it before that while generation is slow.
TYPING_REFRESH_S = 15.0
#: The kind of the event plugins get when ``pass_thread_control`` was refused.
HANDOVER_FAILED = "handover_failed"


class Responder:
    """Answers stored events; ``submit`` never blocks, work happens in per-user tasks."""

    def __init__(
        self,
        runtimes: dict[str, BotRuntime],
        store: Store,
        send_api: SendApi,
        metrics: Metrics,
        max_parallel: int = 256,
    ) -> None:
        self.runtimes = runtimes
        self.store = store
        self.send_api = send_api
        self.metrics = metrics
        self.store_health = StoreHealth(metrics)
        self.profiles = UserProfiles(store, send_api, self.store_health)
        self._slots = asyncio.Semaphore(max_parallel)
        self._queues: dict[tuple[str, str], deque[tuple[StoredEvent, WebhookEvent]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._closing = False
        self._polling: asyncio.Task[None] | None = None
        self._leases = UserLeases(store, self.store_health.call)

    @property
    def in_flight(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def submit(
        self, events: list[StoredEvent], parsed: Mapping[str, WebhookEvent] | None = None
    ) -> None:
        """Queue freshly stored events behind the same user's earlier ones; ``parsed`` holds
        their typed events by key (the webhook's), others are read from their rows."""
        if self._closing:
            return  # they stay pending in the store for the next start
        parsed = parsed or {}
        for event in events:
            key = (event.bot, event.user_id)
            queue = self._queues.setdefault(key, deque())
            if not self.store.shared:
                queue.append((event, parsed.get(event.key) or typed(event)))
            elif key in self._workers:  # it reads the user's events itself; make it look again
                self._leases.recheck.add(key)
            self._start(key)

    def _start(self, key: tuple[str, str]) -> None:
        self._queues.setdefault(key, deque())
        if key not in self._workers and not self._closing:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"user-{key}")

    async def recover(self) -> int:
        """Queue what a previous process accepted but did not finish, and the events that failed
        for a transient cause (rate limit, outage) within Meta's 24-hour messaging window."""
        since = time.time() - MESSAGING_WINDOW_S
        for bot in self.runtimes:
            retried = await self.store.retry_failed(since, bot, retryable_only=True)
            if retried:
                log.info("retrying %d events of %s that failed for a transient cause", retried, bot)
        pending = [event for event in await self.store.pending() if event.bot in self.runtimes]
        if pending:
            shared = " (those of users no other process is answering)" if self.store.shared else ""
            log.info("resuming %d unanswered events from the store%s", len(pending), shared)
        self.submit(pending)
        if self.store.shared and self._polling is None:
            polling = self._leases.poll(list(self.runtimes), self._start)
            self._polling = asyncio.create_task(polling, name="poll-unclaimed")
        return len(pending)

    async def close(self, grace: float) -> None:
        """Let running work finish for up to ``grace`` seconds; what is left stays pending."""
        self._closing = True
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        workers = list(self._workers.values())
        if workers:
            done, running = await asyncio.wait(workers, timeout=grace)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        if self.in_flight:
            log.info("%d events left pending for the next start", self.in_flight)

    async def _drain(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            if self.store.shared:
                await self._leases.drain(key, queue, self._drain_queue, lambda: self._closing)
            else:
                await self._drain_queue(queue)
        finally:
            del self._workers[key]
            if not queue:
                self._queues.pop(key, None)
            if key in self._leases.recheck and not self._closing:
                self._start(key)

    async def _drain_queue(self, queue: deque[tuple[StoredEvent, WebhookEvent]]) -> None:
        while queue and not self._closing:
            async with self._slots:
                try:
                    await self.process(*queue[0])
                except Exception:  # noqa: BLE001 - it stays pending; the queue goes on
                    log.exception("event %s left pending after an error", queue[0][0].key)
            queue.popleft()

    async def process(self, stored: StoredEvent, event: WebhookEvent) -> None:
        """Answer or notify one event and finish it; only cancellation leaves it pending."""
        runtime = self.runtimes[stored.bot]
        try:
            if isinstance(event, (UserMessage, Postback)) and event.answerable:
                await self._answer(runtime, stored, event)
            else:
                await self._notify(runtime, stored)
        except asyncio.CancelledError:
            raise
        except OutsideMessagingWindow as error:
            log.warning("not answering %s of bot %s: %s", stored.key, stored.bot, error)
            await self._fail(stored, "messaging_window", str(error))
        except (GraphApiError, TransportError) as error:
            reason = str(getattr(error, "code", None) or "transport")
            retryable = isinstance(error, TransportError) or error.retryable
            await self._fail(stored, reason, str(error), retryable)
        except Exception as error:  # noqa: BLE001 - one bad event must not stop its user's queue
            log.exception("answering event %s of bot %s failed", stored.key, stored.bot)
            await self._fail(stored, type(error).__name__, f"{type(error).__name__}: {error}")

    async def _fail(
        self, stored: StoredEvent, reason: str, error: str, retryable: bool = False
    ) -> None:
        self.metrics.failures.inc(reason=reason)
        await self.store_health.call(
            self.store.finish, stored.id, [], error=error, retryable=retryable
        )

    async def _answer(
        self, runtime: BotRuntime, stored: StoredEvent, event: UserMessage | Postback
    ) -> None:
        token = runtime.access_token or ""
        user_id = stored.user_id
        text = event.text if isinstance(event, UserMessage) else (event.title or event.payload)
        reply = Reply.from_stored(stored.reply) if stored.reply is not None else None
        check_window(stored)
        if reply is None:
            reply = await self._generate(runtime, stored, event, text)
        messages = messages_for(reply)
        track = _tracked(reply, messages)
        for index in range(stored.parts_sent, len(messages)):
            check_window(stored)
            deadline = window_closes_at(stored)
            await self.send_api.send_message(token, user_id, messages[index], deadline)
            if track:
                await self.store_health.call(self.store.part_sent, stored.id, index + 1)
        if reply.handover is not None:
            await self._pass_thread_control(runtime, user_id, reply.handover)
        turns = [StoredTurn("user", text)] if text.strip() else []
        if reply.text:
            turns.append(StoredTurn("bot", reply.text))
        if messages:
            self.metrics.replies.inc()
        await self.store_health.call(self.store.finish, stored.id, turns)
        self.metrics.reply_seconds.observe(max(0.0, time.time() - stored.received_at))

    async def _generate(
        self, runtime: BotRuntime, stored: StoredEvent, event: UserMessage | Postback, text: str
    ) -> Reply:
        channel = runtime.bot.channel
        profile = await self.profiles.fields(
            stored.bot, stored.user_id, channel.messenger.profile_fields, runtime.access_token or ""
        )
        message = runtime.message(
            text,
            stored.user_id,
            "messenger",
            message_id=getattr(event, "mid", None),
            payload=event.payload,
            metadata={
                "page_id": stored.page_id,
                "kind": stored.kind,
                "attachments": [a.__dict__ for a in getattr(event, "attachments", ())],
            },
        )
        greeting = isinstance(event, Postback) and event.payload == channel.get_started_payload
        typing = partial(self._typing, runtime.access_token or "", stored.user_id)
        generating = while_generating.set(typing if channel.sender_actions else None)
        try:
            reply = await answer(
                runtime,
                self.store,
                message,
                self.store_health.call,
                profile,
                greeting,
                keep_reply=partial(self._save_reply, stored),
            )
        finally:
            while_generating.reset(generating)
        if reply.vetoed_by:
            log.info("reply to %s vetoed by %s", stored.key, ", ".join(reply.vetoed_by))
        return reply

    async def _save_reply(self, stored: StoredEvent, reply: Reply) -> None:
        """Saved with its progress before sending, so a restart sends the rest (the same), not
        again."""
        if _tracked(reply, messages_for(reply)):
            await self.store_health.call(self.store.save_reply, stored.id, reply.to_json())

    async def _notify(self, runtime: BotRuntime, stored: StoredEvent) -> None:
        """Hand an event that gets no reply to ``handle_event``, then finish it."""
        await self._tell_plugins(runtime, stored.user_id, stored.kind, stored.event)
        await self.store_health.call(self.store.finish, stored.id, [])

    async def _tell_plugins(
        self, runtime: BotRuntime, user_id: str, kind: str, data: dict[str, Any]
    ) -> None:
        """``handle_event`` with the user's plugin state, saved back; then the handover a plugin
        asked for (never for a ``handover_failed`` event, which could loop)."""
        conversation = Conversation(user_id) if user_id else None
        call = self.store_health.call
        saved = {}
        if conversation is not None:
            saved = await load_state(runtime.name, self.store, conversation, call)
        event = runtime.event(kind, conversation, data)
        await runtime.pipeline.notify(event)
        if conversation is None:
            return
        await save_state(runtime.name, self.store, conversation, saved, call)
        if event.handover is not None and kind != HANDOVER_FAILED:
            await self._pass_thread_control(runtime, user_id, event.handover)

    async def _pass_thread_control(
        self, runtime: BotRuntime, user_id: str, handover: Handover
    ) -> None:
        """Pass the thread; when the Graph API refuses, plugins hear of it (``handover_failed``,
        e.g. to answer the user again) before the event fails."""
        target = handover.target_app_id
        try:
            await self.send_api.pass_thread_control(
                runtime.access_token or "", user_id, target, handover.metadata
            )
        except (GraphApiError, TransportError) as error:
            log.warning("handing a conversation to app %s failed: %s", target, error)
            details = {"target_app_id": target, "error": str(error)}
            await self._tell_plugins(runtime, user_id, HANDOVER_FAILED, {HANDOVER_FAILED: details})
            raise
        log.info("conversation handed over to app %s", target)

    @asynccontextmanager
    async def _typing(self, token: str, user_id: str) -> AsyncIterator[None]:
        """``mark_seen``, then ``typing_on`` refreshed until the block ends."""
        task = asyncio.create_task(self._keep_typing(token, user_id))
        try:
            yield
        finally:
            task.cancel()

    async def _keep_typing(self, token: str, user_id: str) -> None:
        await self.send_api.sender_action(token, user_id, "mark_seen")
        while True:
            await self.send_api.sender_action(token, user_id, "typing_on")
            await asyncio.sleep(TYPING_REFRESH_S)


def _tracked(reply: Reply, messages: list[dict[str, Any]]) -> bool:
    """Whether a reply's sending is tracked part by part (several messages, or structured)."""
    return len(messages) > 1 or reply.structured
