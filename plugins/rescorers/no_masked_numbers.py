"""Never write a number as zeros."""

from __future__ import annotations

import re
from functools import lru_cache

import torch

from botframework import ScoringContext, TokenBan, Tokenizer, every_row, hookimpl

#: "0", "00", "0.00", "0:00", "0,000", "0s", "0th": what a number becomes once every digit is 0.
_MASKED_NUMBER = re.compile(r"0+(?:[.,:/-]0+)*(?:s|st|nd|rd|th|am|pm|k)?", re.IGNORECASE)


class NoMaskedNumbers(TokenBan):
    """Ban (-inf) every token that is a number written with zeros only.

    For tokenizers that write every digit as 0 (the word tokenizer's ``normalize_digits``), the
    model cannot say which number it means, so "how old are you?" gets "0 0"; with this rescorer
    it answers in words instead. Leave it out for tokenizers that keep digits.
    """

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return every_row(_masked_number_ids(ctx.tokenizer), len(prefixes))


@lru_cache(maxsize=8)
def _masked_number_ids(tokenizer: Tokenizer) -> torch.Tensor:
    texts = (tokenizer.decode([index]).strip() for index in range(tokenizer.vocab_size))
    masked = torch.tensor([bool(_MASKED_NUMBER.fullmatch(text)) for text in texts])
    return masked.nonzero().view(-1)


@hookimpl
def register_rescorers(register) -> None:
    register("no_masked_numbers", NoMaskedNumbers)
