"""The one decoding loop: greedy, beam search and sampling differ only in how they choose.

At every step :func:`run_search` feeds each live row's last token through one batched decoder step
(:class:`~botframework.decoding.decoder_batch.DecoderBatch`, which also carries the anti-LM's
language-model rows), applies the step rescorers through :func:`rescore`, and hands the scores to
the decoder's :class:`Search`, which picks the next tokens, sets finished replies aside and says
which rows go on. Rows it drops (finished inputs, finished samples) leave the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from botframework.decoding.context import ScoringContext
from botframework.decoding.decoder_batch import DecoderBatch


class Search(Protocol):
    """A decoder's choices during one :func:`run_search`; one row per live hypothesis."""

    @property
    def tokens(self) -> torch.Tensor:
        """(rows,) the token each row feeds next."""

    @property
    def prefixes(self) -> torch.Tensor:
        """(rows, step) the tokens each row has chosen so far."""

    @property
    def row_inputs(self) -> torch.Tensor:
        """(rows,) the input each row belongs to (``ctx.rows`` during the step)."""

    def extend(self, outputs: list[torch.Tensor], step: int, last: bool) -> torch.Tensor:
        """Choose the next tokens from ``outputs`` (see :func:`rescore`), set aside the replies
        that end, and return the rows of this step that the next one continues (in their new
        order, repeats allowed); none when the search is over."""


def rescore(
    ctx: ScoringContext,
    rescorers: Sequence[object],
    prefixes: torch.Tensor,
    log_probs: torch.Tensor,
) -> list[torch.Tensor]:
    """The model's ``log_probs`` (rows, vocab), then the scores after each step rescorer in turn:
    the one place step rescorers are applied. A rescorer that only bans tokens
    (:class:`~botframework.decoding.rescorer.TokenBan`) bans them in place on the scores so far:
    its entry is the same tensor as the one before it, and the earlier entries lose only scores
    that no chosen token can have (see :func:`chosen_parts`)."""
    outputs = [log_probs]
    for rescorer in rescorers:
        if getattr(rescorer, "bans_in_place", False):
            rescorer.ban_(ctx, prefixes, outputs[-1])
            outputs.append(outputs[-1])
        else:
            outputs.append(rescorer(ctx, prefixes, outputs[-1]))
    return outputs


def chosen_parts(
    outputs: list[torch.Tensor], rows: torch.Tensor, words: torch.Tensor
) -> torch.Tensor:
    """What the model and each rescorer added to the score of choosing ``words`` on ``rows``
    (any shape, the same for both): a tensor of that shape with one more dimension, the parts."""
    flat = rows * outputs[0].shape[1] + words  # one index into each (rows, vocab) output
    picked = [outputs[0].take(flat)]
    for before, output in zip(outputs, outputs[1:]):
        # a rescorer that banned in place or changed nothing left the same tensor
        picked.append(picked[-1] if output is before else output.take(flat))
    picked = torch.stack(picked, dim=-1)
    return torch.cat([picked[..., :1], picked[..., 1:] - picked[..., :-1]], dim=-1)


def run_search(
    ctx: ScoringContext,
    rescorers: Sequence[object],
    search: Search,
    rows_per_input: int,
    max_length: int,
) -> None:
    """Decode up to ``max_length`` tokens, ``search`` choosing at every step (see the module)."""
    batch = DecoderBatch(ctx, rescorers, rows_per_input)
    try:
        for step in range(max_length):
            ctx.step, ctx.rows = step, search.row_inputs
            outputs = rescore(ctx, rescorers, search.prefixes, batch.step(search.tokens))
            kept = search.extend(outputs, step, last=step == max_length - 1)
            if step == max_length - 1 or not len(kept):
                break
            batch.reorder(kept)
    finally:
        ctx.language_model = None
