"""The padded training batch that the data module yields and the model consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from botframework.tensors import pad_sequences


@dataclass
class Batch:
    """Padded with the tokenizer's pad id (0).

    ``source_ids`` (B, S) and ``source_lengths`` (B,): the encoded dialogue, not reversed (the model
    reverses it when ``model.reverse_source`` is set). ``target_in`` (B, T) starts with BOS and
    ``target_out`` (B, T) ends with EOS (the reply shifted by one); ``target_lengths`` (B,) counts
    the ids of ``target_out`` including EOS.
    """

    source_ids: torch.Tensor
    source_lengths: torch.Tensor
    target_in: torch.Tensor
    target_out: torch.Tensor
    target_lengths: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device) for t in self.as_tuple()))

    def as_tuple(self) -> tuple[torch.Tensor, ...]:
        return (
            self.source_ids,
            self.source_lengths,
            self.target_in,
            self.target_out,
            self.target_lengths,
        )

    def __len__(self) -> int:
        return int(self.source_ids.shape[0])


def collate(
    examples: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int = 0, bos_id: int = 1
) -> Batch:
    """Pad (source ids, target ids ending with EOS) pairs into a :class:`Batch`."""
    targets = [target for _, target in examples]
    source_ids, source_lengths = pad_sequences([source for source, _ in examples], pad_id)
    target_in, _ = pad_sequences([[bos_id, *target[:-1]] for target in targets], pad_id)
    target_out, target_lengths = pad_sequences(targets, pad_id)
    return Batch(source_ids, source_lengths, target_in, target_out, target_lengths)
