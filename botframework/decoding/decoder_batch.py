"""The rows of one batched decoding run, with the language-model rows the anti-LM needs.

MMI-antiLM (Li et al., 2016) subtracts λ·log U(t), where U is the same decoder run with an empty
source, for the first g tokens of a reply. :class:`DecoderBatch` runs that language-model stream as
extra rows of the same batched decoder step, so the anti-LM costs no second decoding pass: the
empty source (:func:`botframework.data.encoding.empty_source`, which training also feeds when
``training.empty_source_rate`` is set) is encoded once with the real sources, one row per distinct
prefix follows the real rows through every reorder, and they are dropped as soon as no rescorer
needs them. A step rescorer asks for the stream with a
``language_model_steps`` attribute (how many first steps it needs) and reads it with
:func:`language_model_log_probs`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from botframework.data.encoding import empty_source
from botframework.decoding.context import LanguageModelRows, ScoringContext

def language_model_steps(rescorers: Sequence[object]) -> int:
    """How many first steps any of ``rescorers`` needs the language-model stream for."""
    return max((int(getattr(r, "language_model_steps", 0) or 0) for r in rescorers), default=0)


class DecoderBatch:
    """The model's decoder state for every row, advanced one token per row at each step.

    Rows start as ``rows_per_input`` copies of each input's encoder state (input-major); until the
    first :meth:`reorder`, copies fed the same token are computed once and their
    log-probabilities repeated. While ``ctx.step`` is below the rescorers'
    :func:`language_model_steps`, the state also holds language-model rows decoded from the empty
    source in the same ``model.step`` call; their next-token log-probabilities are
    ``ctx.language_model`` for :func:`language_model_log_probs` and :func:`language_model_at`
    (None once no rescorer needs them). A language-model row depends on its prefix alone, so rows
    with the same prefix share one: at the first step all the inputs of a batch share a single
    row, and later only the distinct prefixes are decoded.
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
        self.state = model.start(model.encode(source_ids, lengths))
        # the source each row of the state reads (the empty source's row last, if any)
        self.state_sources = torch.arange(len(source_ids))
        self.copies = rows_per_input  # rows per state row, until the first reorder
        self.rows = size  # real rows of the state; the language-model rows follow them
        self.with_lm = bool(self.lm_steps)
        # each real row's language-model row (all share the empty source's to begin with)
        self.lm_rows = torch.zeros(size, dtype=torch.long)
        self.pending: torch.Tensor | None = None  # the real rows the next step continues

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed one token per row; return the next-token log-probabilities (rows, vocab)."""
        if self.with_lm and self.ctx.step >= self.lm_steps:
            self.with_lm = False
            self.ctx.language_model = None
            self.pending = self._kept() if self.pending is None else self.pending
        copies = self._copies(tokens)
        tokens = tokens[::copies]
        if not self.with_lm:
            if self.pending is not None:
                self._reorder_state(self.pending)
            log_probs, self.state = self.ctx.model.step(tokens, self.state, transposed_output=True)
            self.rows, self.pending = len(tokens), None
            return log_probs.repeat_interleave(copies, dim=0) if copies > 1 else log_probs
        # one language-model row per distinct (prefix row, token) pair
        real, vocabulary = self._kept(), self.ctx.model.vocab_size
        pairs, shared = torch.unique(self.lm_rows * vocabulary + tokens, return_inverse=True)
        self._reorder_state(torch.cat([real, self.rows + pairs // vocabulary]))
        fed = torch.cat([tokens, pairs % vocabulary])
        log_probs, self.state = self.ctx.model.step(fed, self.state, transposed_output=True)
        self.rows, self.pending, self.lm_rows = len(tokens), None, shared
        distinct, log_probs = log_probs[len(tokens) :], log_probs[: len(tokens)]
        if copies > 1:
            log_probs = log_probs.repeat_interleave(copies, dim=0)
            shared = shared.repeat_interleave(copies)
        self.ctx.language_model = LanguageModelRows(distinct, shared)
        return log_probs

    def _reorder_state(self, index: torch.Tensor) -> None:
        """Keep (or repeat) the state rows ``index``; the sources' rows only where some row's
        source changes."""
        sources = self.state_sources[index]
        same = len(index) == len(self.state_sources) and torch.equal(sources, self.state_sources)
        self.state = self.ctx.model.reorder(self.state, index, same_sources=same)
        self.state_sources = sources

    def _kept(self) -> torch.Tensor:
        """The real rows of the state that the next step continues, in their order."""
        return torch.arange(self.rows) if self.pending is None else self.pending

    def _copies(self, tokens: torch.Tensor) -> int:
        """How many consecutive rows share each state row and are fed the same token."""
        if self.copies == 1:
            return 1
        grouped = tokens.view(-1, self.copies)
        if bool((grouped == grouped[:, :1]).all()):
            return self.copies
        self._continue(torch.arange(self.rows).repeat_interleave(self.copies))  # copies part ways
        self.copies = 1
        return 1

    def _continue(self, index: torch.Tensor) -> None:
        """Continue the real rows ``index`` (repeats allowed) at the next step; ``lm_rows`` then
        holds the language-model row of each row in that new order."""
        if self.with_lm:
            self.lm_rows = self.lm_rows[index]
        self.pending = index if self.pending is None else self.pending[index]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep (or repeat) the rows ``index``; their language-model rows follow them."""
        if self.copies > 1:
            index = index // self.copies  # while rows are copies, row r is state row r // copies
            self.copies = 1
        if self.pending is None and len(index) == self.rows and bool((index == self._kept()).all()):
            return  # every row goes on where it was (greedy and sampling, until a reply ends)
        self._continue(index)


def language_model_log_probs(ctx: ScoringContext, prefixes: torch.Tensor) -> torch.Tensor:
    """log U(next token | prefix) for every row (rows, vocab): the decoder with an empty source.

    ``ctx.language_model`` when the decoder carries the stream (every decoder built on
    :class:`DecoderBatch` does); a decoder that carries none (e.g. a third-party one) gets them
    computed here over the whole prefix, which is affordable only because the anti-LM needs the
    first few steps alone.
    """
    if ctx.language_model is not None and len(ctx.language_model) == len(prefixes):
        return ctx.language_model.dense()
    model, rows = ctx.model, len(prefixes)
    empty = torch.tensor([empty_source(ctx.tokenizer)] * rows)
    state = model.start(model.encode(empty, torch.full((rows,), empty.shape[1])))
    tokens = torch.full((rows,), ctx.tokenizer.bos_id, dtype=torch.long)
    for position in range(prefixes.shape[1] + 1):
        log_probs, state = model.step(tokens, state)
        if position < prefixes.shape[1]:
            tokens = prefixes[:, position]
    return log_probs


def language_model_at(
    ctx: ScoringContext, prefixes: torch.Tensor, rows: torch.Tensor, ids: torch.Tensor
) -> torch.Tensor:
    """log U(token | prefix) of token ``ids`` on ``rows`` only (1-D, of the same length): what
    :func:`language_model_log_probs` gives there, without a (rows, vocab) copy when the decoder
    carries the stream."""
    if ctx.language_model is not None and len(ctx.language_model) == len(prefixes):
        return ctx.language_model.at(rows, ids)
    return language_model_log_probs(ctx, prefixes)[rows, ids]
