"""The k largest scores of each row of a (rows, vocabulary) tensor, the k largest of each group of
rows (beam search: an input's beams), and the scores near each row's maximum, all found through
block maxima.

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
    maxima = _block_maxima(scores, block)
    floor = maxima.amax(dim=1, keepdim=True) - margin
    block_rows, block_ids = (maxima >= floor).nonzero(as_tuple=True)
    kept = (block_ids * block)[:, None] + torch.arange(block)  # the kept blocks' columns
    inside = kept < columns  # the partial block's columns past the end are not searched
    kept = kept.clamp(max=columns - 1)
    near = (scores[block_rows[:, None], kept] >= floor[block_rows]) & inside
    return block_rows[:, None].expand_as(kept)[near], kept[near]


def group_topk(
    scores: torch.Tensor, offsets: torch.Tensor, group_rows: int, k: int, block: int = 128
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``k`` largest ``scores[r, c] + offsets[r]`` of each group of ``group_rows``
    consecutive rows of a 2-D ``scores``, largest first: their values, rows and columns, each
    (groups, k). Beam search's choice: each input's best extensions over all its beams.

    The same argument as :func:`row_topk`, over a whole group: each of a group's k best lies in a
    block whose maximum (plus its row's offset) is at least as large, and that block is among the
    group's k best blocks. So only k blocks per group are searched, not k per row.
    """
    rows, columns = scores.shape
    groups = rows // group_rows
    counted = -(-columns // block)  # blocks, the last, partial one counted as one
    if group_rows * counted <= 2 * k:  # too few blocks to leave any out
        totals = (scores + offsets[:, None]).view(groups, group_rows * columns)
        values, flat = totals.topk(min(k, totals.shape[1]), dim=1)
        first_rows = torch.arange(0, rows, group_rows)[:, None]
        return values, flat // columns + first_rows, flat % columns
    maxima = (_block_maxima(scores, block) + offsets[:, None]).view(groups, group_rows * counted)
    best_blocks = maxima.topk(k, dim=1).indices
    block_rows = best_blocks // counted + torch.arange(0, rows, group_rows)[:, None]
    kept = ((best_blocks % counted) * block)[..., None] + torch.arange(block)  # (groups, k, block)
    past_end = kept >= columns  # the partial block's columns past the last one
    kept = kept.clamp_(max=columns - 1)
    values = scores.take(block_rows[..., None] * columns + kept) + offsets[block_rows][..., None]
    values = values.masked_fill_(past_end, float("-inf")).view(groups, k * block)
    values, positions = values.topk(k, dim=1)
    return values, block_rows.gather(1, positions // block), kept.view(groups, -1).gather(1, positions)


def _block_maxima(scores: torch.Tensor, block: int) -> torch.Tensor:
    """The maximum of each block of ``block`` columns of each row (rows, blocks), the last,
    partial block (if any) counted as one."""
    rows, columns = scores.shape
    whole = columns // block * block
    maxima = scores[:, :whole].view(rows, -1, block).amax(dim=2)
    if whole < columns:
        maxima = torch.cat([maxima, scores[:, whole:].amax(dim=1, keepdim=True)], dim=1)
    return maxima
