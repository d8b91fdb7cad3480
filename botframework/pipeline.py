"""The message pipeline: an incoming text in, a reply out, through the plugin hooks.

The terminal chat, the Python API and the Messenger server all answer through
:class:`MessagePipeline`, so a plugin behaves the same everywhere.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pluggy

from botframework.decoding.candidate import Candidate
from botframework.reply_parts import (
    Button,
    Element,
    Handover,
    Media,
    QuickReply,
    check_reply_parts,
    parts_from_dict,
    parts_to_dict,
)

T = TypeVar("T")

#: Produces the n-best candidates for one message; the server batches these calls.
Generate = Callable[["IncomingMessage", "Conversation"], Awaitable[list[Candidate]]]


@dataclass
class IncomingMessage:
    """A message a user sent: text plus where it came from."""

    text: str
    user_id: str = "local"
    channel: str = "terminal"
    message_id: str | None = None
    payload: str | None = None  # a quick-reply or postback payload
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    speaker: str  # "user" or "bot"
    text: str


@dataclass
class Conversation:
    """The turns exchanged with one user so far, oldest first.

    ``plugin_settings`` holds the bot's validated plugin settings (the YAML's ``settings``); the
    core sets it before the message-pipeline hooks run. ``profile`` holds the user's profile
    fields the channel fetched (``channel.messenger.profile_fields``, e.g. ``first_name``).
    ``state`` is the plugins' own state about this user, one key per plugin, JSON values only:
    the Messenger server loads it from its store before the hooks run and saves it after, so it
    survives restarts; elsewhere it lives as long as the conversation object.
    """

    user_id: str = "local"
    turns: list[Turn] = field(default_factory=list)
    plugin_settings: Mapping[str, Any] = field(default_factory=dict, repr=False)
    profile: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def settings(self, section: str) -> Any:
        """The validated settings model a plugin registered as ``section`` (``register_settings``);
        None when this conversation belongs to no bot whose plugins register it."""
        return self.plugin_settings.get(section)

    def texts(self) -> list[str]:
        return [turn.text for turn in self.turns]

    def add(self, speaker: str, text: str) -> None:
        self.turns.append(Turn(speaker, text))


@dataclass
class Event:
    """Anything that arrives and gets no reply: a delivery, a read, an echo, a reaction, ...

    ``conversation`` (its ``state`` and ``settings()``) is the user's, when the event has a user;
    ``metadata`` carries the channel's settings (``metadata["channel"]``) like a message's. A
    plugin may set ``handover`` to pass the conversation to another app (Messenger).
    """

    kind: str
    user_id: str | None = None
    channel: str = "terminal"
    data: dict[str, Any] = field(default_factory=dict)
    conversation: Conversation | None = field(default=None, repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    handover: Handover | None = None


@dataclass
class Reply:
    """What the bot answers. ``text`` None and no media or elements means: send nothing.

    Besides text a reply may carry ``quick_replies`` (≤ 13), ``buttons`` (≤ 3; sent as a button
    template whose text is ``text``), one ``media`` attachment and a generic template's
    ``elements`` (≤ 10). Limits are checked when the reply is built and again before it is sent.
    ``handover`` passes the conversation to another app (a person) once the reply is sent.
    """

    text: str | None
    answered_by: str = "model"
    candidates: list[Candidate] = field(default_factory=list)
    vetoed_by: list[str] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)
    quick_replies: list[QuickReply] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    media: Media | None = None
    elements: list[Element] = field(default_factory=list)
    handover: Handover | None = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the limit a plugin's changes broke."""
        check_reply_parts(self.text, self.quick_replies, self.buttons, self.elements)

    @property
    def structured(self) -> bool:
        parts = self.quick_replies or self.buttons or self.media or self.elements
        return bool(parts or self.handover)

    @property
    def empty(self) -> bool:
        """Nothing to send and nothing to do."""
        return not self.text and self.media is None and not self.elements and not self.handover

    def veto(self, by: str, fallback: str | None = None) -> None:
        """Refuse this reply, structured parts included; send ``fallback`` instead, or nothing
        when it is None."""
        self.vetoed_by.append(by)
        self.text = fallback
        self.quick_replies, self.buttons, self.media, self.elements = [], [], None, []
        self.handover = None

    def replace(self, text: str, by: str) -> None:
        self.replaced_by.append(by)
        self.text = text

    def to_json(self) -> str:
        """The text and structured parts, as the store keeps them."""
        parts = parts_to_dict(
            self.quick_replies, self.buttons, self.media, self.elements, self.handover
        )
        return json.dumps({"text": self.text, "structured": parts}, ensure_ascii=False)

    @classmethod
    def from_stored(cls, stored: str) -> Reply:
        """A reply from :meth:`to_json`; older plain-text rows are text-only replies."""
        try:
            data = json.loads(stored)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("structured"), dict):
            return cls(text=stored)
        return cls(text=data.get("text"), **parts_from_dict(data["structured"]))


async def await_me_maybe(value: T | Awaitable[T]) -> T:
    """Await ``value`` if a hook returned an awaitable, else return it unchanged."""
    if inspect.isawaitable(value):
        return await value
    return value


class MessagePipeline:
    """pre-process -> answer without the model, or generate -> post-process."""

    def __init__(self, hook: pluggy.HookRelay, generate: Generate) -> None:
        self.hook = hook
        self.generate = generate

    async def handle(self, message: IncomingMessage, conversation: Conversation) -> Reply:
        for result in self.hook.preprocess_message(message=message, conversation=conversation):
            await await_me_maybe(result)
        reply = await self._answer(message, conversation)
        for result in self.hook.postprocess_reply(
            message=message, reply=reply, conversation=conversation
        ):
            await await_me_maybe(result)
        reply.check()
        return reply

    async def notify(self, event: Event) -> None:
        for result in self.hook.handle_event(event=event):
            await await_me_maybe(result)

    async def _answer(self, message: IncomingMessage, conversation: Conversation) -> Reply:
        canned = self.hook.answer_without_model(message=message, conversation=conversation)
        if inspect.isawaitable(canned):
            if inspect.iscoroutine(canned):
                canned.close()
            raise TypeError("answer_without_model must be a plain function, not async")
        if isinstance(canned, Reply):
            canned.answered_by = "plugin" if canned.answered_by == "model" else canned.answered_by
            return canned
        if canned is not None:
            return Reply(text=str(canned), answered_by="plugin")
        candidates = await self.generate(message, conversation)
        text = candidates[0].text if candidates else None
        return Reply(text=text, candidates=candidates)
