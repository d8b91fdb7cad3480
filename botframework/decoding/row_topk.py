"""The k largest scores of each row of a (rows, vocabulary) tensor, and the scores near each row's
maximum, found through block maxima.

``torch.topk`` over a 20,000-word row is the most expensive call of a beam step after the
projection itself. :func:`row_topk` first takes the maximum of each block of ``block`` columns,
a reduction that runs at memory speed, then the k best blocks, and only then the exact top k
among those blocks' columns. It is exact: each of a row's k largest scores lies in a block whose
maximum is at least that score, and fewer than k blocks can have a larger maximum (each such block
holds a larger score of its own), so that block is among the k best. Equal scores may come back
with other indices than ``torch.topk`` gives. :func:`near_row_maxima` searches, the same way, only
the blocks whose maximum comes within the margin: a comparison and ``nonzero`` over the whole
tensor cost more than the anti-LM's whole plausibility step otherwise.
"""

from __future__ import annotations

import torch


def row_topk(scores: torch.Tensor, k: int, block: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """``scores.topk(k, dim=1)`` (values and indices, largest first) for a 2-D ``scores``."""
    rows, columns = scores.shape
    blocks = columns // block
    if blocks <= 2 * k:  # too few blocks to leave any out
        return scores.topk(min(k, columns), dim=1)
    maxima = scores[:, : blocks * block].view(rows, blocks, block).amax(dim=2)
    starts = maxima.topk(k, dim=1).indices * block
    columns_kept = (starts[:, :, None] + torch.arange(block)).view(rows, k * block)
    if columns % block:  # the last, partial block is always searched
        rest = torch.arange(blocks * block, columns).expand(rows, -1)
        columns_kept = torch.cat([columns_kept, rest], dim=1)
    values, positions = scores.gather(1, columns_kept).topk(k, dim=1)
    return values, columns_kept.gather(1, positions)


def near_row_maxima(
    scores: torch.Tensor, margin: float, block: int = 128
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scores >= row maxima - margin).nonzero(as_tuple=True)`` for a 2-D ``scores``: the rows
    and columns, in row-major order, of every score within ``margin`` of its row's maximum."""
    rows, columns = scores.shape
    blocks = columns // block
    if blocks < 2:
        floor = scores.amax(dim=1, keepdim=True) - margin
        return (scores >= floor).nonzero(as_tuple=True)
    maxima = scores[:, : blocks * block].view(rows, blocks, block).amax(dim=2)
    tail = scores[:, blocks * block :]
    if tail.shape[1]:  # the last, partial block
        maxima = torch.cat([maxima, tail.amax(dim=1, keepdim=True)], dim=1)
    floor = maxima.amax(dim=1, keepdim=True) - margin
    block_rows, block_ids = (maxima >= floor).nonzero(as_tuple=True)
    kept = (block_ids * block)[:, None] + torch.arange(block)  # the kept blocks' columns
    inside = kept < columns  # the partial block's columns past the end are not searched
    kept = kept.clamp(max=columns - 1)
    near = (scores[block_rows[:, None], kept] >= floor[block_rows]) & inside
    return block_rows[:, None].expand_as(kept)[near], kept[near]
