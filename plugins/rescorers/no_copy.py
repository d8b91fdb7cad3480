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
        rows, ids = source_word_pairs(ctx, len(log_probs), log_probs.shape[1])
        rescored = log_probs.clone()
        rescored[rows, ids] = log_probs[rows, ids] - self.weight
        return rescored


def source_word_pairs(
    ctx: ScoringContext, row_count: int, vocab_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, id) for every distinct word of each row's own source, special tokens left out."""
    in_source = torch.zeros(ctx.batch_size, vocab_size, dtype=torch.bool)
    in_source.scatter_(1, ctx.source_ids, True)
    in_source[:, : len(SPECIAL_TOKENS)] = False
    counts = in_source.sum(dim=1)
    ids = in_source.nonzero(as_tuple=True)[1]  # input-major: each input's words in a run
    inputs = ctx.rows if ctx.rows is not None else torch.arange(row_count)
    per_row = counts[inputs]
    rows = torch.arange(row_count).repeat_interleave(per_row)
    run_start = (counts.cumsum(0) - counts)[inputs]  # where each row's input's run begins in ids
    offset = torch.arange(len(rows)) - (per_row.cumsum(0) - per_row).repeat_interleave(per_row)
    return rows, ids[run_start.repeat_interleave(per_row) + offset]


@hookimpl
def register_rescorers(register) -> None:
    register("no_copy", NoCopy)
