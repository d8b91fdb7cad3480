"""Sampled softmax: a training loss that scores the true word against a few sampled negatives.

With a large vocabulary most of a training step goes into the output projection and its softmax
over every word. Sampled softmax (Jean et al., 2015) scores each target only against ``num_samples``
negatives drawn once per batch from a log-uniform (Zipf) distribution over frequency ranks, and
subtracts the log of each word's expected count so the estimate stays consistent. Validation
always uses the full softmax.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class SampledSoftmaxLoss(nn.Module):
    """Mean cross-entropy of ``targets`` given ``features`` and the output layer's parameters.

    ``num_samples`` 0 means the full softmax. When ``num_samples >= vocab_size - 1`` every word is a
    negative with expected count 1, which is exactly the full softmax. ``token_counts`` (one count
    per id) ranks the words for sampling; without it the ids are taken to be in frequency order.
    """

    def __init__(
        self, num_samples: int, token_counts: Sequence[int] | None, vocab_size: int
    ) -> None:
        super().__init__()
        if num_samples < 0:
            raise ValueError(f"num_samples must be 0 (full softmax) or positive, got {num_samples}")
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
        if token_counts is not None and len(token_counts) != vocab_size:
            raise ValueError(
                f"token_counts has {len(token_counts)} entries but the vocabulary has {vocab_size}"
            )
        self.num_samples = num_samples
        self.vocab_size = vocab_size
        self.every_word = num_samples >= vocab_size - 1
        if token_counts is None:
            id_by_rank = torch.arange(vocab_size)
        else:
            counts = torch.tensor(list(token_counts), dtype=torch.float64)
            id_by_rank = torch.argsort(counts, descending=True, stable=True)
        ranks = torch.arange(vocab_size, dtype=torch.float64)
        rank_probability = torch.log1p(1.0 / (ranks + 1.0)) / math.log(vocab_size + 1.0)
        log_expected_count = torch.empty(vocab_size, dtype=torch.float32)
        log_expected_count[id_by_rank] = torch.log(num_samples * rank_probability).float()
        self.register_buffer("id_by_rank", id_by_rank, persistent=False)
        self.register_buffer("log_expected_count", log_expected_count, persistent=False)

    def sample(self) -> torch.Tensor:
        """``num_samples`` ids drawn with replacement.

        P(rank r) = log((r + 2) / (r + 1)) / log(V + 1), by inverting its cumulative distribution.
        """
        uniform = torch.rand(self.num_samples, device=self.id_by_rank.device, dtype=torch.float64)
        ranks = (torch.exp(uniform * math.log(self.vocab_size + 1.0)) - 1.0).long()
        return self.id_by_rank[ranks.clamp_(0, self.vocab_size - 1)]

    def forward(
        self,
        features: torch.Tensor,
        targets: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """Loss over rows of ``features`` (N, H) and ``targets`` (N,); padding must be left out.

        ``reduction`` as in :func:`torch.nn.functional.cross_entropy`: "none" gives each row's loss.
        """
        if self.num_samples == 0:
            return F.cross_entropy(F.linear(features, weight, bias), targets, reduction=reduction)
        if self.every_word:
            negatives = torch.arange(self.vocab_size, device=targets.device)
        else:
            negatives = self.sample()
        # One gather for true and sampled rows: its backward is a single scatter into the table.
        ids = torch.cat([targets, negatives])
        rows = F.embedding(ids, weight)
        true_rows, negative_rows = rows[: len(targets)], rows[len(targets) :]
        true_logits = (features * true_rows).sum(dim=-1)
        negative_logits = features @ negative_rows.t()
        if bias is not None:
            biases = bias[ids]
            true_logits = true_logits + biases[: len(targets)]
            negative_logits = negative_logits + biases[len(targets) :]
        if not self.every_word:
            true_logits = true_logits - self.log_expected_count[targets]
            negative_logits = negative_logits - self.log_expected_count[negatives]
        accidental_hits = negatives.unsqueeze(0) == targets.unsqueeze(1)
        negative_logits = negative_logits.masked_fill(accidental_hits, float("-inf"))
        logits = torch.cat([true_logits.unsqueeze(1), negative_logits], dim=1)
        return F.cross_entropy(logits, torch.zeros_like(targets), reduction=reduction)
