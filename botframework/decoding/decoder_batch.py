"""The rows of one batched decoding run, with the language-model rows the anti-LM needs.

MMI-antiLM (Li et al., 2016) subtracts λ·log U(t), where U is the same decoder run with an empty
source, for the first g tokens of a reply. :class:`DecoderBatch` runs that language-model stream as
extra rows of the same batched decoder step, so the anti-LM costs no second decoding pass: the
empty source (:func:`botframework.data.encoding.empty_source`, which training also feeds when
``training.empty_source_rate`` is set) is encoded once with the real sources, its rows follow the
real rows through every reorder, and they are dropped as soon as no rescorer needs them. A step rescorer asks for the stream with a
``language_model_steps`` attribute (how many first steps it needs) and reads it with
:func:`language_model_log_probs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from botframework.data.encoding import empty_source
from botframework.decoding.context import ScoringContext

def language_model_steps(rescorers: Sequence[object]) -> int:
    """How many first steps any of ``rescorers`` needs the language-model stream for."""
    return max((int(getattr(r, "language_model_steps", 0) or 0) for r in rescorers), default=0)


class DecoderBatch:
    """The model's decoder state for every row, advanced one token per row at each step.

    Rows start as ``rows_per_input`` copies of each input's encoder state (input-major); until the
    first :meth:`reorder`, copies fed the same token are computed once and their
    log-probabilities repeated. While ``ctx.step`` is below the rescorers'
    :func:`language_model_steps`, every row has a twin decoded from the empty source in the same
    ``model.step`` call; its next-token log-probabilities are ``ctx.language_model`` for
    :func:`language_model_log_probs` (None once no rescorer needs them).
    """

    def __init__(
        self, ctx: ScoringContext, rescorers: Sequence[object], rows_per_input: int = 1
    ) -> None:
        self.ctx = ctx
        ctx.language_model = None
        self.lm_steps = language_model_steps(rescorers)
        model, size = ctx.model, ctx.batch_size
        source_ids, lengths = ctx.source_ids, ctx.source_lengths
        if self.lm_steps:
            empty = torch.zeros_like(source_ids[:1])
            empty_ids = empty_source(ctx.tokenizer)
            empty[0, : len(empty_ids)] = torch.tensor(empty_ids)
            source_ids = torch.cat([source_ids, empty])
            lengths = torch.cat([lengths, lengths.new_full((1,), len(empty_ids))])
        state = model.start(model.encode(source_ids, lengths))
        self.copies = rows_per_input  # rows per state row, until the first reorder
        self.rows = size  # real rows of the state; their language-model twins follow them
        index = torch.arange(size)
        if self.lm_steps:
            index = torch.cat([index, torch.full_like(index, size)])
        self.state = model.reorder(state, index)
        self.with_lm = bool(self.lm_steps)

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed one token per row; return the next-token log-probabilities (rows, vocab)."""
        if self.with_lm and self.ctx.step >= self.lm_steps:
            self.state = self.ctx.model.reorder(self.state, torch.arange(self.rows))
            self.with_lm = False
            self.ctx.language_model = None
        copies = self._copies(tokens)
        tokens = tokens[::copies]
        if self.with_lm:
            tokens = torch.cat([tokens, tokens])
        log_probs, self.state = self.ctx.model.step(tokens, self.state, transposed_output=True)
        if copies > 1:
            log_probs = log_probs.repeat_interleave(copies, dim=0)
        if not self.with_lm:
            return log_probs
        real = self.rows * copies
        self.ctx.language_model = log_probs[real:]
        return log_probs[:real]

    def _copies(self, tokens: torch.Tensor) -> int:
        """How many consecutive rows share each state row and are fed the same token."""
        if self.copies == 1:
            return 1
        grouped = tokens.view(-1, self.copies)
        if bool((grouped == grouped[:, :1]).all()):
            return self.copies
        self.state = self._expand(self.state)  # the copies part ways at once
        return 1

    def _expand(self, state):
        index = torch.arange(self.rows).repeat_interleave(self.copies)
        if self.with_lm:
            index = torch.cat([index, index + self.rows])
        self.rows, self.copies = len(index) // (2 if self.with_lm else 1), 1
        return self.ctx.model.reorder(state, index)

    def reorder(self, index: torch.Tensor) -> None:
        """Keep (or repeat) the rows ``index``; their language-model twins follow them."""
        index = index // self.copies  # while rows are copies, row r is state row r // copies
        if self.with_lm:
            index = torch.cat([index, index + self.rows])
        self.state = self.ctx.model.reorder(self.state, index)
        self.rows, self.copies = len(index) // (2 if self.with_lm else 1), 1


def language_model_log_probs(ctx: ScoringContext, prefixes: torch.Tensor) -> torch.Tensor:
    """log U(next token | prefix) for every row (rows, vocab): the decoder with an empty source.

    ``ctx.language_model`` when the decoder carries the stream (every decoder built on
    :class:`DecoderBatch` does); a decoder that carries none (e.g. a third-party one) gets them
    computed here over the whole prefix, which is affordable only because the anti-LM needs the
    first few steps alone.
    """
    if ctx.language_model is not None and len(ctx.language_model) == len(prefixes):
        return ctx.language_model
    model, rows = ctx.model, len(prefixes)
    empty = torch.tensor([empty_source(ctx.tokenizer)] * rows)
    state = model.start(model.encode(empty, torch.full((rows,), empty.shape[1])))
    tokens = torch.full((rows,), ctx.tokenizer.bos_id, dtype=torch.long)
    for position in range(prefixes.shape[1] + 1):
        log_probs, state = model.step(tokens, state)
        if position < prefixes.shape[1]:
            tokens = prefixes[:, position]
    return log_probs
