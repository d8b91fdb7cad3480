"""Hand a Messenger conversation to a person, and keep the bot quiet while a person answers.

Its settings are ``channel.handover`` (a ``register_settings`` section under ``channel``)::

    channel:
      messenger: {app_id: "${MESSENGER_APP_ID}"}   # this bot's app id
      handover:
        keywords: ["human", "talk to a person", "agent"]
        payload: TALK_TO_HUMAN            # a postback or quick reply that asks for a person
        message: "Connecting you with a person. They will answer here."
        target_app_id: 263902037430900    # the Page inbox (the default)
        pause_on_human_reply: "30m"       # a person replying from the Page pauses the bot this long

On a keyword or the payload the bot sends ``message`` and passes the thread to ``target_app_id``
(``POST /me/pass_thread_control``); it then answers that user again only once a
``pass_thread_control`` event names this app (``channel.messenger.app_id``; any app when unset) as
the new owner. A ``take_thread_control`` event (another app took the thread) silences it the same
way; a ``request_thread_control`` from ``target_app_id`` is granted (the thread is passed), one from
another app is refused (logged). When the Graph API refuses the handover (e.g. the app is not the
Primary Receiver), the bot answers that user again. An echo sent by another app, or by no app (a
person writing from the Page), pauses the bot for that user for ``pause_on_human_reply``; without
``app_id`` only echoes from no app or from ``target_app_id`` count. The state is the user's
``conversation.state``, which the server keeps in its store. Only Messenger conversations are
handed over.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botframework import Conversation, Event, Handover, IncomingMessage, Reply, contains_phrase
from botframework import hookimpl

NAME = "channel.handover"
STATE_KEY = "handover"
METADATA = "the user asked for a person"
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

log = logging.getLogger(__name__)


class HandoverSettings(BaseModel):
    """``channel.handover``: what asks for a person, what the bot says, who takes over."""

    model_config = ConfigDict(extra="forbid")
    keywords: list[str] = Field(default_factory=list, description="phrases that ask for a person")
    payload: str | None = Field(None, min_length=1, max_length=1000)
    message: str | None = Field(
        "Connecting you with a person. They will answer here.", min_length=1, max_length=2000
    )
    target_app_id: str = Field(Handover().target_app_id, pattern=r"^[0-9]+$")
    pause_on_human_reply: str = Field("30m", description='"45s", "30m", "2h", "1d"; "0": never')

    @field_validator("target_app_id", "pause_on_human_reply", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("keywords")
    @classmethod
    def _keywords_with_words(cls, keywords: list[str]) -> list[str]:
        if any(not contains_phrase(keyword, keyword) for keyword in keywords):
            raise ValueError("every keyword needs a letter or digit")
        return keywords

    @field_validator("pause_on_human_reply")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if not _DURATION.match(value.strip()):
            examples = '"45s", "30m", "2h" or "1d"'
            raise ValueError(f"expected a duration such as {examples}, got {value!r}")
        return value.strip()

    @property
    def pause_seconds(self) -> int:
        duration = _DURATION.match(self.pause_on_human_reply)
        assert duration is not None  # checked by the validator
        amount, unit = duration.groups()
        return int(amount) * _UNIT_SECONDS[unit]

    def asks_for_person(self, message: IncomingMessage) -> bool:
        if self.payload is not None and message.payload == self.payload:
            return True
        return any(contains_phrase(message.text, keyword) for keyword in self.keywords)


@hookimpl
def register_settings(register) -> None:
    register(NAME, HandoverSettings)


@hookimpl(tryfirst=True)
def answer_without_model(message: IncomingMessage, conversation: Conversation) -> Reply | None:
    settings = conversation.settings(NAME)
    if settings is None or message.channel != "messenger":
        return None
    state = conversation.state.get(STATE_KEY, {})
    if state.get("owner") or state.get("paused_until", 0) > time.time():
        silent = Reply(None, answered_by=STATE_KEY)
        silent.veto(by=STATE_KEY)  # vetoed without a fallback: nothing is sent
        return silent
    if not settings.asks_for_person(message):
        return None
    conversation.state[STATE_KEY] = {"owner": settings.target_app_id}
    handover = Handover(settings.target_app_id, METADATA)
    return Reply(settings.message, answered_by=STATE_KEY, handover=handover)


@hookimpl
def handle_event(event: Event) -> None:
    conversation = event.conversation
    settings = conversation.settings(NAME) if conversation is not None else None
    if settings is None or event.channel != "messenger":
        return
    channel = event.metadata.get("channel")
    app_id = getattr(getattr(channel, "messenger", None), "app_id", None)
    state = _next_state(event, settings, app_id, conversation.state.get(STATE_KEY, {}))
    if state:
        conversation.state[STATE_KEY] = state
    else:
        conversation.state.pop(STATE_KEY, None)


def _next_state(
    event: Event, settings: HandoverSettings, app_id: str | None, state: dict[str, Any]
) -> dict[str, Any]:
    """The user's handover state after ``event``."""
    details = event.data.get(event.kind)
    details = details if isinstance(details, dict) else {}
    if event.kind == "handover_failed":  # the Graph API refused: the bot answers again
        return {}
    if event.kind == "pass_thread_control":
        owner = str(details.get("new_owner_app_id") or "")
        return {} if app_id is None or owner == app_id else {"owner": owner or "another app"}
    if event.kind == "take_thread_control":
        owner = str(details.get("new_owner_app_id") or "another app")
        return state if app_id is not None and owner == app_id else {"owner": owner}
    if event.kind == "request_thread_control":
        return _requested(event, settings, str(details.get("requested_owner_app_id") or ""), state)
    if event.kind == "echo" and _written_by_a_person(event, settings, app_id):
        if settings.pause_seconds:
            return {**state, "paused_until": time.time() + settings.pause_seconds}
    return state


def _requested(
    event: Event, settings: HandoverSettings, requester: str, state: dict[str, Any]
) -> dict[str, Any]:
    if requester != settings.target_app_id:
        log.info("thread control requested by app %s, not target_app_id: kept", requester)
        return state
    event.handover = Handover(requester, "requested by the app")
    return {"owner": requester}


def _written_by_a_person(event: Event, settings: HandoverSettings, app_id: str | None) -> bool:
    message = event.data.get("message")
    sender = str(message.get("app_id") or "") if isinstance(message, dict) else ""
    if app_id is not None:
        return sender != app_id
    return sender in ("", settings.target_app_id)
