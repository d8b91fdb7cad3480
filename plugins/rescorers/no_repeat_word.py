"""Never say a content word twice in one reply ("Probably to europe or europe"), nor greet twice
("Hi hey hello!")."""

from __future__ import annotations

from functools import lru_cache

import torch

from botframework import (
    MAY_REPEAT,
    ONE_GREETING,
    ScoringContext,
    TokenBan,
    Tokenizer,
    every_row,
    hookimpl,
    words,
)


class NoRepeatWord(TokenBan):
    """Ban (-inf) every content word the reply has already said, as ``eval``'s ``repeat-rate``
    counts them: any word but the :data:`~botframework.MAY_REPEAT` ones (function words, "no no",
    "like", "know", ...) and the words listed in ``may_repeat``. Once the reply has greeted, every
    greeting word (:data:`~botframework.ONE_GREETING`: "hi", "hey", "hello", ...) counts as said.

    The anti-LM, which rewards what the language model finds unlikely, makes such replies far more
    common ("You could romeo the romeo", "Hello hey hello!"); ``no_repeat_ngram`` cannot stop
    them, since the words between differ.

    It works on tokens that start a word: those a word tokenizer gives, and the first piece of a
    word from a subword tokenizer (which then also keeps a later word from starting with the same
    piece). Words written without spaces between them (``jieba``'s Chinese words) start no such
    token and are never banned.
    """

    def __init__(self, may_repeat: list[str] | tuple[str, ...] = ()) -> None:
        if isinstance(may_repeat, str) or not isinstance(may_repeat, (list, tuple)):
            raise ValueError(f"may_repeat must be a list of words, got {may_repeat!r}")
        for word in may_repeat:
            if not isinstance(word, str) or words(word) != [word.lower()]:
                raise ValueError(f"may_repeat must hold single words, got {word!r}")
        self.may_repeat = frozenset(word.lower() for word in may_repeat)

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        if prefixes.shape[1] == 0:
            return None
        tokens = _token_kinds(ctx.tokenizer, self.may_repeat)
        rows, positions = tokens.content[prefixes].nonzero(as_tuple=True)
        banned = [(rows, prefixes[rows, positions])]
        greeted = tokens.greeting[prefixes].any(dim=1).nonzero().view(-1)
        if len(greeted) and len(tokens.greeting_ids):
            which, ids = every_row(tokens.greeting_ids, len(greeted))
            banned.append((greeted[which], ids))
        return torch.cat([r for r, _ in banned]), torch.cat([i for _, i in banned])


class _TokenKinds:
    """Per-id masks of one tokenizer's vocabulary: the ids that start a word which may not come
    twice, and those that start a greeting word."""

    def __init__(self, tokenizer: Tokenizer, may_repeat: frozenset[str]) -> None:
        allowed = MAY_REPEAT | may_repeat
        self.content = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        self.greeting = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        for index in range(tokenizer.sep_id + 1, tokenizer.vocab_size):  # specials come first
            said = words(tokenizer.decode([index]))
            # a token said twice over decodes with a space between only if it starts a word
            if len(said) != 1 or said[0] in allowed or " " not in tokenizer.decode([index] * 2):
                continue
            self.content[index] = True
            self.greeting[index] = said[0] in ONE_GREETING
        self.greeting_ids = self.greeting.nonzero().view(-1)


@lru_cache(maxsize=8)
def _token_kinds(tokenizer: Tokenizer, may_repeat: frozenset[str]) -> _TokenKinds:
    return _TokenKinds(tokenizer, may_repeat)


@hookimpl
def register_rescorers(register) -> None:
    register("no_repeat_word", NoRepeatWord)
