"""Batches of examples of similar length, so little of each batch is padding.

The original project padded every example to one of a few fixed bucket sizes. Here each batch is
padded only to its own longest example, and examples of similar length are put together: shuffled
indices are cut into large chunks, each chunk is sorted by length and cut into batches, and the
batches are shuffled so an epoch does not run from short to long.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

from torch.utils.data import BatchSampler, RandomSampler, Sampler


class ShuffledIndices(RandomSampler):
    """Every index of a dataset once, in an order fixed by ``seed`` and the epoch.

    A :class:`~torch.utils.data.RandomSampler` so that Lightning, seeing a shuffled order, also
    shuffles the distributed sampler it puts in its place on several devices.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"size must not be negative, got {size}")
        super().__init__(range(size))
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before every epoch, so each epoch has its own order."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        order = list(range(self.size))
        random.Random(self.seed * 1_000_003 + self.epoch).shuffle(order)
        return iter(order)

    def __len__(self) -> int:
        return self.size


class LengthBucketSampler(BatchSampler):
    """Groups the indices ``sampler`` yields into batches of similar ``lengths``.

    Indices are taken ``chunk_batches * batch_size`` at a time (all at once when ``chunk_batches``
    is None), sorted by length within the chunk and cut into batches of ``batch_size``. With
    ``shuffle`` the batches are then put in an order fixed by ``seed`` and the sampler's epoch.
    It keeps :class:`~torch.utils.data.BatchSampler`'s ``sampler`` argument so Lightning can put a
    distributed sampler in its place when training on several devices.
    """

    def __init__(
        self,
        sampler: Sampler[int] | Sequence[int],
        batch_size: int,
        drop_last: bool = False,
        lengths: Sequence[int] = (),
        chunk_batches: int | None = 100,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(sampler, batch_size, drop_last)
        if chunk_batches is not None and chunk_batches < 1:
            raise ValueError(f"chunk_batches must be at least 1 or None, got {chunk_batches}")
        self.lengths = lengths
        self.chunk_batches = chunk_batches
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[list[int]]:
        indices = list(self.sampler)
        chunk = len(indices) if self.chunk_batches is None else self.chunk_batches * self.batch_size
        batches = []
        for start in range(0, len(indices), max(chunk, 1)):
            ordered = sorted(indices[start : start + chunk], key=self.lengths.__getitem__)
            for first in range(0, len(ordered), self.batch_size):
                batch = ordered[first : first + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    batches.append(batch)
        if self.shuffle:
            epoch = getattr(self.sampler, "epoch", 0)
            random.Random(self.seed * 1_000_003 + epoch).shuffle(batches)
        return iter(batches)

    def __len__(self) -> int:
        size = len(self.sampler)
        chunk = size if self.chunk_batches is None else self.chunk_batches * self.batch_size
        full_chunks, rest = divmod(size, max(chunk, 1))
        per_chunk = chunk // self.batch_size if self.drop_last else -(-chunk // self.batch_size)
        last = rest // self.batch_size if self.drop_last else -(-rest // self.batch_size)
        return full_chunks * per_chunk + last
