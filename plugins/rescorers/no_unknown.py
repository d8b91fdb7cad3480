"""Never emit the unknown-word token."""

from __future__ import annotations

import torch

from botframework import ScoringContext, TokenBan, every_row, hookimpl


class NoUnknown(TokenBan):
    """Give the unknown-word token a log-probability of -inf at every step."""

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return every_row(torch.tensor([ctx.tokenizer.unk_id]), len(prefixes))


@hookimpl
def register_rescorers(register) -> None:
    register("no_unknown", NoUnknown)
