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


class TokenBan(StepRescorer):
    """A step rescorer that only bans tokens: it gives some (row, token) pairs a score of -inf.

    Implement :meth:`banned`. Called on its own it returns new scores like any step rescorer, but
    the decoding loop bans in place on the running scores instead (``bans_in_place``), which
    spares a copy of the (rows, vocab) tensor at every step: a banned token is never chosen, so
    the score breakdown of every chosen token is the same either way. A subclass whose instances
    may also add finite amounts sets ``bans_in_place`` to False on those.
    """

    bans_in_place: bool = True

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The pairs to ban: (row indices, token ids), two 1-D tensors of the same length; None
        when there are none at this step."""
        raise NotImplementedError

    def ban_(self, ctx: ScoringContext, prefixes: torch.Tensor, scores: torch.Tensor) -> None:
        """Set the :meth:`banned` pairs of ``scores`` (rows, vocab) to -inf, in place."""
        pairs = self.banned(ctx, prefixes, scores.shape[1])
        if pairs is not None and len(pairs[0]):
            scores.index_put_(pairs, scores.new_tensor(float("-inf")))

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        scores = log_probs.clone()
        self.ban_(ctx, prefixes, scores)
        return scores


def every_row(ids: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (row, id) pairs that ban ``ids`` on each of ``rows`` rows (for :meth:`TokenBan.banned`)."""
    return (
        torch.arange(rows).repeat_interleave(len(ids)),
        ids.repeat(rows),
    )


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
