"""A served bot at run time: its batcher and the message pipeline that answers through it."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any

from botframework.decoding.candidate import Candidate
from botframework.messenger.batching import Batcher
from botframework.messenger.metrics import Metrics
from botframework.messenger.served import ServedBot
from botframework.messenger.store import StoredTurn
from botframework.messenger.suggestions import suggested_replies
from botframework.pipeline import (
    Conversation,
    Event,
    IncomingMessage,
    MessagePipeline,
    Reply,
    Turn,
    await_me_maybe,
)


#: Entered around the model's generation of a reply (the Messenger responder shows "typing" then,
#: and not for a plugin's answer or a silenced user). A context variable, as the pipeline's
#: generate callback takes only the message and the conversation.
while_generating: ContextVar[Callable[[], AbstractAsyncContextManager[None]] | None] = ContextVar(
    "while_generating", default=None
)


class BotRuntime:
    """Answers one bot's messages: pre-process -> (plugin or batched model) -> post-process."""

    def __init__(self, bot: ServedBot, metrics: Metrics, access_token: str | None = None) -> None:
        self.bot = bot
        self.access_token = access_token
        channel = bot.channel
        self.batcher = Batcher(
            bot.generate,
            max_size=channel.batch_max_size if channel.batching else 1,
            max_wait=channel.batch_max_wait_ms / 1000 if channel.batching else 0.0,
            on_batch=metrics.observe_batch,
        )
        self.pipeline = MessagePipeline(bot.hook, self._generate)

    @property
    def name(self) -> str:
        return self.bot.name

    async def _generate(
        self, message: IncomingMessage, conversation: Conversation
    ) -> list[Candidate]:
        if not message.text.strip():
            return []
        return await self._submit([*conversation.texts(), message.text])

    async def _submit(self, dialogue: list[str]) -> list[Candidate]:
        """The model's candidates for ``dialogue``, through the batcher."""
        around = while_generating.get()
        if around is None:
            return await self.batcher.submit(dialogue)
        async with around():
            return await self.batcher.submit(dialogue)

    def message(self, text: str, user_id: str, channel: str, **fields: object) -> IncomingMessage:
        """An incoming message whose metadata carries this bot's channel settings (for plugins)."""
        metadata = {"channel": self.bot.channel, "bot": self.bot.name}
        metadata.update(fields.pop("metadata", {}) or {})  # type: ignore[arg-type]
        return IncomingMessage(text, user_id, channel, metadata=metadata, **fields)  # type: ignore[arg-type]

    async def respond(
        self, message: IncomingMessage, conversation: Conversation, greeting: bool = False
    ) -> Reply:
        """The reply to ``message``; ``greeting`` answers with the YAML's greeting (Get Started)."""
        conversation.plugin_settings = self.bot.settings
        if greeting:
            greeting_text = personal_greeting(self.bot.channel.greeting, conversation.profile)
            reply = Reply(text=greeting_text, answered_by="greeting")
            for result in self.bot.hook.postprocess_reply(
                message=message, reply=reply, conversation=conversation
            ):
                await await_me_maybe(result)
            reply.check()
        else:
            reply = await self.pipeline.handle(message, conversation)
        if reply.text is not None and not reply.text.strip():
            reply.text = None
        if reply.empty and not reply.vetoed_by:
            channel = self.bot.channel
            reply.text = channel.empty_reply if message.text.strip() else channel.attachment_reply
        await self._suggest(message, conversation, reply)
        return reply

    async def _suggest(
        self, message: IncomingMessage, conversation: Conversation, reply: Reply
    ) -> None:
        """Attach ``channel.suggestions`` quick replies to a text reply that has none of its own."""
        limit = self.bot.channel.suggestions
        if not limit or not reply.text or reply.quick_replies or reply.handover:
            return
        turns = [*conversation.texts(), message.text, reply.text]
        candidates = await self._submit([turn for turn in turns if turn.strip()])
        reply.quick_replies = suggested_replies(candidates, limit)

    def event(
        self, kind: str, conversation: Conversation | None, data: dict[str, Any]
    ) -> Event:
        """An event for ``handle_event``, with the user's conversation (its plugin state and this
        bot's plugin settings) and this bot's channel settings in its metadata."""
        if conversation is not None:
            conversation.plugin_settings = self.bot.settings
        user_id = conversation.user_id if conversation is not None else None
        metadata = {"channel": self.bot.channel, "bot": self.bot.name}
        return Event(kind, user_id, "messenger", dict(data), conversation, metadata)

    async def close(self) -> None:
        await self.batcher.close()


def personal_greeting(greeting: str, profile: dict[str, str]) -> str:
    """``greeting`` with ``{first_name}`` filled in (left out, with its space, when unknown)."""
    name = profile.get("first_name", "").strip()
    if name:
        return greeting.replace("{first_name}", name)
    return re.sub(r"\s*\{first_name\}", "", greeting).strip()


def conversation_from(user_id: str, turns: list[StoredTurn]) -> Conversation:
    return Conversation(user_id, [Turn(turn.speaker, turn.text) for turn in turns])
