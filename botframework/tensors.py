"""Rows of token ids as the padded tensors the model reads."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_sequences(
    sequences: Sequence[Sequence[int]], pad_id: int = 0, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``sequences`` as one (N, longest) tensor padded with ``pad_id``, and their lengths (N,)."""
    ids = torch.full((len(sequences), max(map(len, sequences))), pad_id, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.long)
    return ids.to(device), lengths.to(device)
