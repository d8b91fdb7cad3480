"""Attention over the encoder memory: Luong's multiplicative and Bahdanau's additive scores."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """Scores decoder queries against the encoder memory and returns the weighted context.

    ``keys(memory)`` is computed once per source and carried in the decoder state, so a decoding
    step never projects the whole memory again.
    """

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """The memory (B, S, H) as the ``keys`` argument of :meth:`forward` expects it."""
        raise NotImplementedError

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores (B, T, S) of queries (B, T, H) against keys (B, S, H)."""
        raise NotImplementedError

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor,
    ) -> torch.Tensor:
        """The context vectors (B, T, H); padded memory positions (mask False) get no weight."""
        scores = self.scores(queries, keys)
        # The finite minimum rather than -inf keeps a fully masked row from producing NaN.
        scores = scores.masked_fill(~memory_mask.unsqueeze(1), torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, memory)


class LuongAttention(Attention):
    """Luong's "general" score: ``query · W memory``."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key(memory)

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return torch.bmm(queries, keys.transpose(1, 2))


class BahdanauAttention(Attention):
    """Bahdanau's additive score: ``v · tanh(W query + U memory)``."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.key = nn.Linear(hidden_size, hidden_size, bias=False)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.energy = nn.Linear(hidden_size, 1, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        return self.key(memory)

    def scores(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        combined = torch.tanh(self.query(queries).unsqueeze(2) + keys.unsqueeze(1))
        return self.energy(combined).squeeze(-1)


def build_attention(kind: str, hidden_size: int) -> Attention:
    """The attention module a ``model.attention`` name stands for."""
    if kind == "luong":
        return LuongAttention(hidden_size)
    if kind == "bahdanau":
        return BahdanauAttention(hidden_size)
    raise ValueError(f"unknown attention {kind!r}; expected 'luong' or 'bahdanau'")
