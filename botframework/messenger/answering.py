"""The one way a served bot answers a message, on Messenger and in the web chat alike.

The user's last turns and plugin state come from the store, the message goes through the bot's
pipeline (:meth:`BotRuntime.respond`), and the plugins' state goes back to the store when a hook
changed it. Store calls go through ``call``: the Messenger responder retries them until the store
works again (:class:`StoreHealth`), the web chat fails its request at once.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from botframework.messenger.runtime import BotRuntime, conversation_from
from botframework.messenger.store import Store
from botframework.pipeline import Conversation, IncomingMessage, Reply

#: ``call(store_method, *args)``: how a store method is called (directly, or retried).
StoreCall = Callable[..., Awaitable[Any]]


async def call_once(method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """A :data:`StoreCall` without retries."""
    return await method(*args)


async def answer(
    runtime: BotRuntime,
    store: Store,
    message: IncomingMessage,
    call: StoreCall = call_once,
    profile: dict[str, str] | None = None,
    greeting: bool = False,
    keep_reply: Callable[[Reply], Awaitable[None]] | None = None,
) -> Reply:
    """The reply to ``message`` from ``message.user_id``, with the conversation from the store.

    ``keep_reply`` stores the reply before the plugins' state is saved: a crash in between then
    sends the stored reply, rather than finding a state (say, handed over) whose reply was lost.
    """
    channel = runtime.bot.channel
    turns = await call(store.recent_turns, runtime.name, message.user_id, channel.context_turns)
    conversation = conversation_from(message.user_id, turns)
    conversation.profile = dict(profile or {})
    saved = await load_state(runtime.name, store, conversation, call)
    reply = await runtime.respond(message, conversation, greeting=greeting)
    if keep_reply is not None:
        await keep_reply(reply)
    await save_state(runtime.name, store, conversation, saved, call)
    return reply


async def load_state(
    bot: str, store: Store, conversation: Conversation, call: StoreCall = call_once
) -> dict[str, Any]:
    """Load the user's plugin state into ``conversation``; returns a copy to compare with."""
    conversation.state = await call(store.user_state, bot, conversation.user_id)
    return copy.deepcopy(conversation.state)


async def save_state(
    bot: str,
    store: Store,
    conversation: Conversation,
    saved: dict[str, Any],
    call: StoreCall = call_once,
) -> None:
    """Save the user's plugin state when the hooks changed it."""
    if conversation.state != saved:
        await call(store.save_user_state, bot, conversation.user_id, conversation.state)
