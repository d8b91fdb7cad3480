"""Base classes for rescorers, the small callables that change candidate scores."""

from __future__ import annotations

import torch

from botframework.decoding.candidate import Candidate
from botframework.decoding.context import ScoringContext
from botframework.decoding.loop import rescore


class StepRescorer:
    """Changes the next-token log-probabilities of every live row while decoding.

    Validate arguments in ``__init__`` with a precise :class:`ValueError`; return new tensors.
    """

    name: str = ""

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        """``prefixes``: (rows, step) token ids chosen so far; ``log_probs``: (rows, vocab)."""
        raise NotImplementedError


class CandidateRescorer:
    """Re-scores finished candidates (n-best re-ranking)."""

    name: str = ""

    def __call__(self, ctx: ScoringContext, candidates: list[list[Candidate]]) -> list[list[float]]:
        """Return, for every input and every candidate, the amount to add to its score."""
        raise NotImplementedError


def apply_candidate_rescorers(
    ctx: ScoringContext,
    rescorers: list[CandidateRescorer],
    candidates: list[list[Candidate]],
) -> list[list[Candidate]]:
    """Add each rescorer's amounts in the listed order, record them, and re-sort best first."""
    for rescorer in rescorers:
        amounts = rescorer(ctx, candidates)
        for row, row_amounts in zip(candidates, amounts):
            for candidate, amount in zip(row, row_amounts):
                candidate.score += float(amount)
                candidate.scores[rescorer.name] = candidate.scores.get(rescorer.name, 0.0) + float(
                    amount
                )
    return [sorted(row, key=lambda c: c.score, reverse=True) for row in candidates]


def apply_step_rescorers(
    ctx: ScoringContext,
    rescorers: list[StepRescorer],
    prefixes: torch.Tensor,
    log_probs: torch.Tensor,
) -> tuple[torch.Tensor, list[tuple[str, torch.Tensor]]]:
    """Run the per-step rescorers in the listed order.

    Returns the final log-probabilities and, for each rescorer, the (rows, vocab) change it made,
    so decoders can report each rescorer's share of a candidate's score.
    """
    outputs = rescore(ctx, rescorers, prefixes, log_probs)
    changes = [
        (rescorer.name, after - before)
        for rescorer, before, after in zip(rescorers, outputs, outputs[1:])
    ]
    return outputs[-1], changes
