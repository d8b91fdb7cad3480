"""Penalise replying with the user's own words."""

from __future__ import annotations

import math

import torch

from botframework import SPECIAL_TOKENS, ScoringContext, StepRescorer, hookimpl


class NoCopy(StepRescorer):
    """Subtract ``weight`` from the log-probability of every word of the row's own source.

    (The original project damped only the source token at the same position; any position is
    penalised here, in log space.) Special tokens are never penalised. ``weight`` may be ``inf``
    to forbid copying outright.
    """

    def __init__(self, weight: float = 1.0) -> None:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or math.isnan(weight)
            or weight <= 0
        ):
            raise ValueError(
                f"weight must be a positive number (inf forbids copying), got {weight!r}"
            )
        self.weight = float(weight)

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        in_source = torch.zeros(ctx.batch_size, log_probs.shape[1], dtype=torch.bool)
        in_source.scatter_(1, ctx.source_ids, True)
        in_source[:, : len(SPECIAL_TOKENS)] = False
        rows = ctx.rows if ctx.rows is not None else torch.arange(len(log_probs))
        return torch.where(in_source[rows], log_probs - self.weight, log_probs)


@hookimpl
def register_rescorers(register) -> None:
    register("no_copy", NoCopy)
