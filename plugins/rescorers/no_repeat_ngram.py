"""Never repeat an n-gram within a reply."""

from __future__ import annotations

import torch

from botframework import ScoringContext, StepRescorer, hookimpl


class NoRepeatNGram(StepRescorer):
    """Ban (-inf) every token that would complete an n-gram of ``size`` already in the prefix."""

    def __init__(self, size: int = 3) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        self.size = size

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        n = self.size
        if prefixes.shape[1] < n:
            return log_probs
        windows = prefixes.unfold(1, n, 1)  # (rows, windows, n): every n-gram so far
        tail = prefixes[:, prefixes.shape[1] - n + 1 :]
        matches = (windows[:, :, : n - 1] == tail[:, None, :]).all(dim=2)
        banned = torch.zeros_like(log_probs).scatter_add_(1, windows[:, :, -1], matches.float()) > 0
        return log_probs.masked_fill(banned, float("-inf"))


@hookimpl
def register_rescorers(register) -> None:
    register("no_repeat_ngram", NoRepeatNGram)
