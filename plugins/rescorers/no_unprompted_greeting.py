"""Do not open a reply with a greeting unless the user's message opens with one."""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache

import torch

from botframework import (
    ScoringContext,
    StepRescorer,
    Tokenizer,
    greeting_words_after,
    hookimpl,
    opens_with_greeting,
    words,
)


class NoUnpromptedGreeting(StepRescorer):
    """Subtract ``weight`` (``inf``: ban) from every token that would make the reply open with a
    greeting (``eval``'s ``greeting-rate``: "Hi", "Oh hey", "good morning", "what's up") when the
    user's latest message does not open with one.

    A greeting answers a greeting. A model trained on whole conversations learns that a lone
    first message is often answered with one ("Do you have friends?" -> "Hi again friends!"),
    and the anti-LM, which favours what the prompt makes likelier, amplifies it. A subword that
    is also a greeting word ("Hi" of "Hill") is penalised where a greeting could start.
    """

    def __init__(self, weight: float = math.inf) -> None:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or math.isnan(weight)
            or weight <= 0
        ):
            raise ValueError(f"weight must be a positive number (inf bans), got {weight!r}")
        self.weight = float(weight)

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        greeted = [bool(turns) and opens_with_greeting(turns[-1]) for turns in ctx.dialogues]
        greeted += [False] * (ctx.batch_size - len(greeted))
        rows = ctx.rows.tolist() if ctx.rows is not None else range(len(log_probs))
        ids_of = _ids_by_word(ctx.tokenizer)
        penalised = torch.zeros_like(log_probs, dtype=torch.bool)
        for row, (source, prefix) in enumerate(zip(rows, prefixes.tolist())):
            if greeted[source]:
                continue
            for word in greeting_words_after(words(ctx.tokenizer.decode(prefix))):
                penalised[row, ids_of[word]] = True
        return torch.where(penalised, log_probs - self.weight, log_probs)


@lru_cache(maxsize=8)
def _ids_by_word(tokenizer: Tokenizer) -> defaultdict[str, list[int]]:
    """The ids of each word of ``tokenizer``'s vocabulary, by the word lower-cased."""
    ids: defaultdict[str, list[int]] = defaultdict(list)
    for index in range(tokenizer.vocab_size):
        ids[tokenizer.decode([index]).strip().lower()].append(index)
    return ids


@hookimpl
def register_rescorers(register) -> None:
    register("no_unprompted_greeting", NoUnpromptedGreeting)
