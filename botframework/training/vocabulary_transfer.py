"""Carry a trained model's weights over to a new vocabulary (``train --new-vocabulary``).

Only the tensors indexed by token id change: the embedding rows and the output layer's rows and
biases. A new token that stands for a whole word (the new tokenizer encodes its text to that token
alone) gets the rows of the old token for the same text, looked up with the old tokenizer's own
``encode``, so a word tokenizer's lower-casing and digit folding apply: the cased subwords
``Hello`` and ``hello`` both start from the word model's ``hello``. Every other new token (a word
piece, a word the old vocabulary lacks) starts as the old model's unknown-word token. Where several
new tokens start from one old token, its output probability is shared among them in proportion to
their counts in the new tokenizer's training texts (one added to each), through their biases.
Every other tensor is copied unchanged, so the rest of the model's shape must be the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer

#: The state-dict entries whose first dimension is the vocabulary.
EMBEDDING = "embedding.weight"
OUTPUT_WEIGHT = "output.weight"
OUTPUT_BIAS = "output.bias"


@dataclass
class TransferReport:
    """How many of the new vocabulary's ids found a counterpart in the old one."""

    matched: int
    vocab_size: int

    def __str__(self) -> str:
        share = self.matched / self.vocab_size if self.vocab_size else 0.0
        found = f"{self.matched} of {self.vocab_size} tokens ({share:.0%})"
        return f"{found} found in the old vocabulary"


def old_ids_for(old: Tokenizer, new: Tokenizer) -> list[int | None]:
    """For every id of ``new``, the id of ``old`` with the same text, or None."""
    mapping: list[int | None] = list(range(len(SPECIAL_TOKENS)))
    for new_id in range(len(SPECIAL_TOKENS), new.vocab_size):
        text = new.decode([new_id]).strip()
        whole_word = bool(text) and " " not in text and new.encode(text) == [new_id]
        old_ids = old.encode(text) if whole_word else []
        mapping.append(old_ids[0] if len(old_ids) == 1 and old_ids[0] != old.unk_id else None)
    return mapping


def transfer_vocabulary(
    state_dict: dict[str, torch.Tensor], old: Tokenizer, new: Tokenizer
) -> tuple[dict[str, torch.Tensor], TransferReport]:
    """``state_dict`` (trained with ``old``) with its vocabulary tensors re-indexed for ``new``."""
    mapping = old_ids_for(old, new)
    source = torch.tensor([old.unk_id if old_id is None else old_id for old_id in mapping])
    result = dict(state_dict)
    for key in (EMBEDDING, OUTPUT_WEIGHT, OUTPUT_BIAS):
        if key in state_dict:
            result[key] = state_dict[key].index_select(0, source).clone()
    if OUTPUT_BIAS in result:
        result[OUTPUT_BIAS] += _shares(source, new.token_counts).log().to(result[OUTPUT_BIAS].dtype)
    matched = sum(old_id is not None for old_id in mapping)
    return result, TransferReport(matched, new.vocab_size)


def _shares(source: torch.Tensor, token_counts: list[int]) -> torch.Tensor:
    """Each new id's share of the (add-one) counts of all new ids mapped to the same old id."""
    counts = torch.tensor(token_counts, dtype=torch.float64)[: len(source)] + 1
    totals = torch.zeros(int(source.max()) + 1, dtype=torch.float64).index_add_(0, source, counts)
    return counts / totals[source]
