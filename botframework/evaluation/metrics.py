"""Model-based metrics of ``botframework eval`` (the word-level ones live in :mod:`botframework.text`).

* word-level perplexity: exp(total negative log-likelihood of the reply tokens, EOS included, /
  (whitespace words + 1)), comparable across tokenizers because it counts words, not tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from botframework.data.encoding import encode_source
from botframework.tensors import pad_sequences

if TYPE_CHECKING:
    from botframework.data.corpus import Pair
    from botframework.data.tokenizer import Tokenizer
    from botframework.model.seq2seq import Seq2Seq


def spread(items: list, limit: int) -> list:
    """At most ``limit`` items, evenly spread over ``items`` (so not all from one conversation)."""
    if len(items) <= limit:
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def word_perplexity(
    model: Seq2Seq,
    tokenizer: Tokenizer,
    pairs: Sequence[Pair],
    max_source_length: int,
    batch_size: int = 64,
) -> float:
    """exp(total NLL of every reply's tokens, EOS included / total (whitespace words + 1)).

    Replies are scored whole (not cut to the training length) under the full softmax.
    """
    nll, units = 0.0, 0
    device = next(model.parameters()).device
    model.eval()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        sources = [encode_source(tokenizer, p.context, max_source_length) for p in chunk]
        targets = [tokenizer.encode(p.reply) + [tokenizer.eos_id] for p in chunk]
        pad = tokenizer.pad_id
        with torch.no_grad():
            log_probs = model.sequence_log_probs(
                *pad_sequences(sources, pad, device), *pad_sequences(targets, pad, device)
            )
        nll -= float(log_probs.sum())
        units += sum(len(p.reply.split()) + 1 for p in chunk)
    return math.exp(min(nll / units, 700.0)) if units else math.nan
