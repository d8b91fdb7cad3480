"""The one context object handed to decoders, rescorers and reward rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from botframework.text import words

if TYPE_CHECKING:
    from botframework.data.tokenizer import Tokenizer
    from botframework.model.seq2seq import Seq2Seq


@dataclass
class LanguageModelRows:
    """log U(next token | prefix) for the live rows of a step, stored once per distinct prefix:
    rows with the same prefix (at the first step, every row) share one row of ``distinct``."""

    distinct: torch.Tensor  # (prefixes, vocab)
    row_of: torch.Tensor  # (rows,) each live row's row of ``distinct``

    def __len__(self) -> int:
        return len(self.row_of)

    def dense(self) -> torch.Tensor:
        """(rows, vocab): every live row's log-probabilities (a copy)."""
        return self.distinct.index_select(0, self.row_of)

    def at(self, rows: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """The log-probabilities of token ``ids`` on ``rows`` (1-D, of the same length)."""
        return self.distinct[self.row_of[rows], ids]


@dataclass
class ScoringContext:
    """Everything a decoder, rescorer or reward rule may need besides the scores themselves.

    ``model`` exposes the scoring functions (``encode``, ``start``, ``step``, ``reorder``,
    ``sequence_log_probs``); ``extra_models`` holds optional others by name (e.g. ``"reverse"``, a
    model trained on replies -> prompts). ``source_ids`` is a padded batch (one row per input) and
    ``dialogues`` the turns so far for each input, the user's latest message last. Decoders update
    ``step`` (0-based index of the token being chosen) and ``rows`` (for each live row of the
    decoder's batch, the index of the input it belongs to). Reward rules also get ``reply``.
    ``language_model`` holds log U(next token | prefix) of every live row at this step (the
    decoder run with an empty source) when the decoder carries that stream for the anti-LM
    (:class:`~botframework.decoding.decoder_batch.DecoderBatch` does), else None; read it with
    :func:`~botframework.decoding.decoder_batch.language_model_log_probs` or
    :func:`~botframework.decoding.decoder_batch.language_model_at`.
    """

    model: Seq2Seq
    tokenizer: Tokenizer
    source_ids: torch.Tensor
    source_lengths: torch.Tensor
    dialogues: list[list[str]] = field(default_factory=list)
    max_length: int = 30
    step: int = 0
    rows: torch.Tensor | None = None
    extra_models: dict[str, Seq2Seq] = field(default_factory=dict)
    reply: str | None = None
    language_model: LanguageModelRows | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _prefix_texts: tuple[torch.Tensor, int, list[str]] | None = field(
        default=None, repr=False, compare=False
    )
    _prefix_words: tuple[list[str], list[list[str]]] | None = field(
        default=None, repr=False, compare=False
    )

    def prefix_texts(self, prefixes: torch.Tensor) -> list[str]:
        """Each row of ``prefixes`` (rows, step) decoded to text. Decoded once for all the
        rescorers of a step that ask: the same tensor at the same ``step`` gives the same list."""
        cached = self._prefix_texts
        if cached is None or cached[0] is not prefixes or cached[1] != self.step:
            texts = [self.tokenizer.decode(prefix) for prefix in prefixes.tolist()]
            self._prefix_texts = cached = (prefixes, self.step, texts)
        return cached[2]

    def prefix_words(self, prefixes: torch.Tensor) -> list[list[str]]:
        """:func:`~botframework.text.words` of each of :meth:`prefix_texts`, shared the same way."""
        texts = self.prefix_texts(prefixes)
        cached = self._prefix_words
        if cached is None or cached[0] is not texts:
            self._prefix_words = cached = (texts, [words(text) for text in texts])
        return cached[1]

    @property
    def batch_size(self) -> int:
        return int(self.source_ids.shape[0])
