"""Tensor helpers shared by the bot, training, evaluation, reinforcement learning and plugins."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_sequences(
    rows: Sequence[Sequence[int]], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ids as a zero-padded (N, longest) long tensor and their lengths (N,) on ``device``."""
    ids = torch.zeros((len(rows), max(map(len, rows))), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
    return ids.to(device), torch.tensor([len(row) for row in rows], device=device)
