"""An opt-in vocabulary shortlist for decoding (``output_dtype: shortlist``).

Each decoding run scores only the words its replies are likely to use: the first
:data:`FREQUENT_WORDS` ids (the ``word`` and ``jieba_words`` tokenizers sort their vocabulary by
frequency after the special tokens) and every word of the batch's prompts. The step's projection
reads only those rows of the output weight (less than a third of them at 20,000 words), and every other
word gets log-probability -inf: the softmax is taken over the shortlist. This is CTranslate2's
vocabulary map without its table of each word's usual replies. A reply changes where the best one
uses a rarer word; ``botframework bench decode`` reports how often.
"""

from __future__ import annotations

import torch
from torch import nn

from botframework.model.projection import linear

#: How many of the most common words every shortlist holds. On the shipped chitchat model's 200
#: first held-out prompts the best reply of beam 10 + anti-LM stays the same for 193 (4,000: 186;
#: 5,000: 189; 8,000: 197).
FREQUENT_WORDS = 6000


def shortlist_words(
    output: nn.Linear, source_ids: torch.Tensor | None, frequent: int = FREQUENT_WORDS
) -> torch.Tensor:
    """The sorted ids (K,) a shortlist of ``output`` keeps for prompts ``source_ids`` (B, S)."""
    size = output.out_features
    parts = [torch.arange(min(frequent, size))]
    if source_ids is not None:
        parts.append(source_ids.flatten().clamp(0, size - 1))
    return torch.unique(torch.cat(parts))


class ShortlistLinear(nn.Module):
    """``linear`` computed for the shortlist ``words`` only; -inf for every other word."""

    def __init__(self, full: nn.Linear, words: torch.Tensor) -> None:
        super().__init__()
        self.full, self.words = full, words
        self.weight = full.weight.detach()[words].contiguous()
        self.bias = None if full.bias is None else full.bias.detach()[words].contiguous()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.dim() != 2 or torch.is_grad_enabled():
            return self.full(features)
        scores = linear(self, "weight", self.bias, features)
        logits = scores.new_full((len(features), self.full.out_features), float("-inf"))
        return logits.index_copy_(1, self.words, scores)
