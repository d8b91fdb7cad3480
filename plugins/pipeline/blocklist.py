"""Veto replies that contain a blocklisted word and send a fallback instead (for public Pages).

Its settings are its own section of the bot YAML, declared with ``register_settings``::

    settings:
      blocklist:
        words: [stupid, idiot]
        fallback: "Let's talk about something else."   # null: send nothing
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from botframework import Conversation, IncomingMessage, Reply, hookimpl

NAME = "blocklist"


class BlocklistSettings(BaseModel):
    """``settings.blocklist``: the words that veto a reply and what to send instead."""

    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(default_factory=list, description="words that veto a reply")
    fallback: str | None = "Let's talk about something else."

    @field_validator("words")
    @classmethod
    def _non_empty(cls, words: list[str]) -> list[str]:
        if any(not word.strip() for word in words):
            raise ValueError("blocklist words must be non-empty")
        return words


class Blocklist:
    """Finds listed words in a text: whole words, case- and accent-insensitive."""

    def __init__(self, words: Iterable[str]) -> None:
        cleaned = [_fold(word.strip()) for word in words]
        if any(not word for word in cleaned):
            raise ValueError("blocklist words must be non-empty")
        alternatives = "|".join(
            re.escape(word) for word in sorted(set(cleaned), key=len, reverse=True)
        )
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)") if cleaned else None

    def __call__(self, text: str) -> str | None:
        """The first listed word found in ``text``, or None."""
        if self.pattern is None:
            return None
        match = self.pattern.search(_fold(text))
        return match.group(0) if match else None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_cache: dict[tuple[str, ...], Blocklist] = {}


def _blocklist(words: list[str]) -> Blocklist:
    key = tuple(words)
    if key not in _cache:
        _cache[key] = Blocklist(words)
    return _cache[key]


@hookimpl
def register_settings(register) -> None:
    register(NAME, BlocklistSettings)


@hookimpl
def postprocess_reply(message: IncomingMessage, reply: Reply, conversation: Conversation) -> None:
    settings = conversation.settings(NAME)
    if settings is None or not settings.words or reply.text is None:
        return
    if _blocklist(settings.words)(reply.text) is not None:
        reply.veto(by=NAME, fallback=settings.fallback)
