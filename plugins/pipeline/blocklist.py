"""Veto replies that contain a blocklisted word and send a fallback instead (for public Pages).

Settings come from the bot YAML's channel section, which the Messenger server and the web chat
hand to every message as ``message.metadata["channel"]``::

    channel:
      blocklist: [stupid, idiot]
      blocklist_fallback: "Let's talk about something else."   # null: send nothing
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from botframework import Conversation, IncomingMessage, Reply, hookimpl

NAME = "blocklist"


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
def postprocess_reply(message: IncomingMessage, reply: Reply, conversation: Conversation) -> None:
    channel = message.metadata.get("channel")
    words = list(getattr(channel, "blocklist", None) or [])
    if not words or reply.text is None:
        return
    if _blocklist(words)(reply.text) is not None:
        reply.veto(by=NAME, fallback=getattr(channel, "blocklist_fallback", None))
