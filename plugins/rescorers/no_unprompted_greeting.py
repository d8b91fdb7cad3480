"""Do not open a reply with a greeting unless the user's message opens with one."""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from botframework import (
    GREETING_PAIRS,
    GREETING_WORDS,
    ScoringContext,
    StepRescorer,
    Tokenizer,
    hookimpl,
    opens_with_greeting,
    words,
)


class NoUnpromptedGreeting(StepRescorer):
    """Subtract ``weight`` (``inf``: ban) from the greetings a reply could open with ("hi",
    "hello", "good" + "morning", ...) when the user's latest message does not open with one.

    A greeting answers a greeting. A model trained on whole conversations learns that a lone
    first message is usually answered with one ("Do you have friends?" -> "Hi again friends!"),
    and the anti-LM, which favours what the prompt makes likelier, amplifies it; ``eval``'s
    ``greeting-rate`` counts such replies. Only the reply's first word is looked at (and the
    second after "good"); a subword that is also a greeting ("Hi" of "Hill") is penalised there too.
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
        tokens = _greeting_tokens(ctx.tokenizer)
        penalised = torch.zeros_like(log_probs, dtype=torch.bool)
        for row, (source, prefix) in enumerate(zip(rows, prefixes.tolist())):
            if greeted[source]:
                continue
            said = words(ctx.tokenizer.decode(prefix))
            if not said:
                penalised[row] = tokens.open_greeting
            elif len(said) == 1 and any(said[0] == first for first, _ in GREETING_PAIRS):
                penalised[row] = tokens.seconds_after[said[0]]
        return torch.where(penalised, log_probs - self.weight, log_probs)


class _GreetingTokens:
    """Per-id masks of one tokenizer's vocabulary: the ids that are a greeting word, and for
    each first word of a two-word greeting the ids that complete it."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        texts = [tokenizer.decode([index]).strip().lower() for index in range(tokenizer.vocab_size)]
        self.open_greeting = torch.tensor([text in GREETING_WORDS for text in texts])
        self.seconds_after = {
            first: torch.tensor([(first, text) in GREETING_PAIRS for text in texts])
            for first, _ in GREETING_PAIRS
        }


@lru_cache(maxsize=8)
def _greeting_tokens(tokenizer: Tokenizer) -> _GreetingTokens:
    return _GreetingTokens(tokenizer)


@hookimpl
def register_rescorers(register) -> None:
    register("no_unprompted_greeting", NoUnpromptedGreeting)
