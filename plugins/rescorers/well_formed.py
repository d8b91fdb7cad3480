"""Keep replies well formed: never end on a word that cannot end a sentence, never stutter."""

from __future__ import annotations

import re
from functools import lru_cache

import torch

from botframework import (
    REPEATABLE_WORDS,
    ScoringContext,
    TokenBan,
    Tokenizer,
    ends_badly,
    hookimpl,
    words,
)

_SENTENCE_END = re.compile(r"[.!?]+")


class WellFormed(TokenBan):
    """Ban (-inf) the tokens that would make a reply broken, as ``eval``'s broken-reply rate counts:

    * ending it (the end marker, or ".", "!", "?") while it ends on a word that cannot end a
      sentence (a determiner, possessive, conjunction, or an auxiliary with no subject before it:
      "I like the", "I have"), or holds fewer than ``min_words`` words; after a preposition only a
      question may end ("Where are you from?", not "I come from");
    * the last word token chosen, again, even after punctuation ("robots are are", "bored, bored";
      "no no", "haha haha" and the other :data:`~botframework.REPEATABLE_WORDS` excepted).
    """

    def __init__(self, min_words: int = 1) -> None:
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            raise ValueError(f"min_words must be an integer of 0 or more, got {min_words!r}")
        self.min_words = min_words

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = _token_kinds(ctx.tokenizer)
        texts, said = ctx.prefix_texts(prefixes), ctx.prefix_words(prefixes)
        rows: list[int] = []
        ids: list[int] = []
        for row, prefix in enumerate(prefixes.tolist()):
            endings = self._endings_banned(texts[row], said[row], tokens)
            last_word = next((token for token in reversed(prefix) if tokens.is_word[token]), None)
            if last_word is not None and tokens.may_not_repeat[last_word]:
                endings = [*endings, last_word]  # "bored, bored" counts as twice in a row
            rows += [row] * len(endings)
            ids += endings
        return torch.tensor(rows, dtype=torch.long), torch.tensor(ids, dtype=torch.long)

    def _endings_banned(self, text: str, said: list[str], tokens: _TokenKinds) -> list[int]:
        asking = text.rstrip().endswith("?")
        if len(said) < self.min_words or (said and ends_badly(said, question=True)):
            return tokens.ends_any
        if said and not asking and ends_badly(said, question=False):
            return tokens.ends_any_but_question
        return []


class _TokenKinds:
    """Per-id masks of one tokenizer's vocabulary: which ids end a reply or a sentence, and
    which are words that must not come twice in a row."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        size = tokenizer.vocab_size
        texts = [tokenizer.decode([index]).strip() for index in range(size)]
        ends = [bool(_SENTENCE_END.fullmatch(text)) for text in texts]
        ends[tokenizer.eos_id] = True
        self.ends_any = [index for index in range(size) if ends[index]]
        self.ends_any_but_question = [index for index in self.ends_any if "?" not in texts[index]]
        special = range(tokenizer.sep_id + 1)
        self.is_word = [bool(words(text)) and i not in special for i, text in enumerate(texts)]
        self.may_not_repeat = [
            is_word and text.lower() not in REPEATABLE_WORDS
            for is_word, text in zip(self.is_word, texts)
        ]


@lru_cache(maxsize=8)
def _token_kinds(tokenizer: Tokenizer) -> _TokenKinds:
    return _TokenKinds(tokenizer)


@hookimpl
def register_rescorers(register) -> None:
    register("well_formed", WellFormed)
