"""Never emit the unknown-word token."""

from __future__ import annotations

import torch

from botframework import ScoringContext, StepRescorer, hookimpl


class NoUnknown(StepRescorer):
    """Give the unknown-word token a log-probability of -inf at every step."""

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        log_probs = log_probs.clone()
        log_probs[:, ctx.tokenizer.unk_id] = float("-inf")
        return log_probs


@hookimpl
def register_rescorers(register) -> None:
    register("no_unknown", NoUnknown)
