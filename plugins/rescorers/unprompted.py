"""Do not greet or say goodbye unless the user's message does."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import lru_cache

import torch

from botframework import (
    ScoringContext,
    TokenBan,
    Tokenizer,
    farewell_words_after,
    greeting_words_after,
    hookimpl,
    opens_with_greeting,
    says_farewell,
)


class _Unprompted(TokenBan):
    """Subtract ``weight`` (``inf``: ban) from every token that would make the reply do what
    :attr:`prompted` finds the user's latest message does not, by the words
    :attr:`words_after` says would do it."""

    prompted: Callable[[str], bool]
    words_after: Callable[[Sequence[str]], frozenset[str]]

    def __init__(self, weight: float = math.inf) -> None:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or math.isnan(weight)
            or weight <= 0
        ):
            raise ValueError(f"weight must be a positive number (inf bans), got {weight!r}")
        self.weight = float(weight)
        self.bans_in_place = math.isinf(self.weight)

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The (row, id) pairs penalised: the ids of every word that would do it, on each row
        whose user did not."""
        prompted = [bool(turns) and self.prompted(turns[-1]) for turns in ctx.dialogues]
        prompted += [False] * (ctx.batch_size - len(prompted))
        sources = ctx.rows.tolist() if ctx.rows is not None else range(len(prefixes))
        ids_of = _ids_by_word(ctx.tokenizer)
        rows: list[int] = []
        ids: list[int] = []
        for row, (source, said) in enumerate(zip(sources, ctx.prefix_words(prefixes))):
            if not prompted[source]:
                for word in self.words_after(said):
                    found = ids_of.get(word, [])
                    rows += [row] * len(found)
                    ids += found
        return torch.tensor(rows, dtype=torch.long), torch.tensor(ids, dtype=torch.long)

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        if self.bans_in_place:
            return super().__call__(ctx, prefixes, log_probs)
        penalised = torch.zeros_like(log_probs, dtype=torch.bool)
        penalised[self.banned(ctx, prefixes, log_probs.shape[1])] = True
        return torch.where(penalised, log_probs - self.weight, log_probs)


class NoUnpromptedGreeting(_Unprompted):
    """No reply opens with a greeting ("Hi", "Oh hey", "good morning", "what's up": ``eval``'s
    ``greeting-rate``) unless the user's message does.

    A greeting answers a greeting. A model trained on whole conversations learns that a lone
    first message is often answered with one ("Do you have friends?" -> "Hi again friends!"),
    and the anti-LM, which favours what the prompt makes likelier, amplifies it. A subword that
    is also a greeting word ("Hi" of "Hill") is penalised where a greeting could start.
    """

    prompted = staticmethod(opens_with_greeting)
    words_after = staticmethod(greeting_words_after)


class NoUnpromptedFarewell(_Unprompted):
    """No reply says goodbye ("I have to go now", "nice talking to you", "good night":
    ``eval``'s ``farewell-rate``) unless the user's message does.

    Chit-chat conversations end with farewells, and a model trained on them tacks one onto
    answers ("Do you cook?" -> "Yes I love cooking, but I have to go now."); a Page's visitor
    should not be left. The last word of each farewell phrase is penalised after the others, so
    "I have to go to work" is steered away from too.
    """

    prompted = staticmethod(says_farewell)
    words_after = staticmethod(farewell_words_after)


@lru_cache(maxsize=8)
def _ids_by_word(tokenizer: Tokenizer) -> dict[str, list[int]]:
    """The ids of each word of ``tokenizer``'s vocabulary, by the word lower-cased."""
    ids: defaultdict[str, list[int]] = defaultdict(list)
    for index in range(tokenizer.vocab_size):
        ids[tokenizer.decode([index]).strip().lower()].append(index)
    return dict(ids)


@hookimpl
def register_rescorers(register) -> None:
    register("no_unprompted_greeting", NoUnpromptedGreeting)
    register("no_unprompted_farewell", NoUnpromptedFarewell)
