"""Suggested replies (``channel.suggestions``): what the user might send next, from the model.

The dialogue including the bot's reply goes through the bot's batcher like any reply, so it shares
decoder calls with the other users' work of that moment; the decoder's n-best list (a greedy
decoder gives one candidate) is filtered to short, distinct replies without special tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

from botframework.data.tokenizer import SPECIAL_TOKENS
from botframework.decoding.candidate import Candidate
from botframework.reply_parts import MAX_QUICK_REPLY_TITLE, QuickReply
from botframework.text import words


def suggested_replies(candidates: Iterable[Candidate], limit: int) -> list[QuickReply]:
    """Up to ``limit`` quick replies from ``candidates`` (best first): each at most 20 characters,
    none holding a special token, none with the same words as an earlier one."""
    chosen: list[QuickReply] = []
    seen: set[tuple[str, ...]] = set()
    for candidate in candidates:
        if len(chosen) == limit:
            break
        text = " ".join(candidate.text.split())
        key = tuple(words(text))
        if not key or key in seen or len(text) > MAX_QUICK_REPLY_TITLE:
            continue
        if any(token in text for token in SPECIAL_TOKENS):
            continue
        seen.add(key)
        chosen.append(QuickReply(text, text))
    return chosen
