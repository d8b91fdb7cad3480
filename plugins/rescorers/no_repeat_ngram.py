"""Never repeat an n-gram within a reply."""

from __future__ import annotations

import torch

from botframework import ScoringContext, TokenBan, hookimpl


class NoRepeatNGram(TokenBan):
    """Ban (-inf) every token that would complete an n-gram of ``size`` already in the prefix."""

    def __init__(self, size: int = 3) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.size = size

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        n = self.size
        if prefixes.shape[1] < n:
            return None
        windows = prefixes.unfold(1, n, 1)  # (rows, windows, n): every n-gram so far
        tail = prefixes[:, prefixes.shape[1] - n + 1 :]
        rows, starts = (windows[:, :, : n - 1] == tail[:, None, :]).all(dim=2).nonzero(as_tuple=True)
        return rows, windows[rows, starts, -1]


@hookimpl
def register_rescorers(register) -> None:
    register("no_repeat_ngram", NoRepeatNGram)
