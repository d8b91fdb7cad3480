"""row_topk, group_topk and near_row_maxima find exactly what torch.topk or a comparison of
every score finds, by way of block maxima."""

from __future__ import annotations

import math

import pytest
import torch

from botframework import group_topk, near_row_maxima, row_topk


@pytest.mark.parametrize("columns", [20_000, 20_003, 4_096, 300])
@pytest.mark.parametrize("rows", [1, 10, 64])
def test_the_same_values_and_indices_as_torch_topk(rows: int, columns: int) -> None:
    scores = torch.randn(rows, columns, generator=torch.Generator().manual_seed(columns + rows))
    expected = scores.topk(20, dim=1)
    values, indices = row_topk(scores, 20)
    assert torch.equal(values, expected.values)
    assert torch.equal(indices, expected.indices)


def test_the_best_scores_crowded_into_one_block_and_the_partial_last_block() -> None:
    scores = torch.zeros(2, 10_050)
    scores[0, 256:276] = torch.arange(1.0, 21.0)  # all twenty best in one block of 128
    scores[1, 10_040:] = 5.0  # the ten best in the last, partial block ...
    scores[1, 7] = 9.0  # ... and one more far away
    values, indices = row_topk(scores, 20)
    assert values[0].tolist() == list(range(20, 0, -1))
    assert indices[0].tolist() == list(range(275, 255, -1))
    assert values[1, :11].tolist() == [9.0] + [5.0] * 10
    assert sorted(indices[1, 1:11].tolist()) == list(range(10_040, 10_050))
    assert values[1, 11:].eq(0.0).all()


def test_rows_mostly_minus_infinity_keep_their_finite_scores() -> None:
    scores = torch.full((3, 20_000), -math.inf)
    scores[0, [5, 9_000, 19_999]] = torch.tensor([-1.0, -2.0, -0.5])
    scores[2] = torch.randn(20_000)
    values, indices = row_topk(scores, 20)
    assert values[0, :3].tolist() == [-0.5, -1.0, -2.0]
    assert indices[0, :3].tolist() == [19_999, 5, 9_000]
    assert torch.isneginf(values[0, 3:]).all() and torch.isneginf(values[1]).all()
    assert torch.equal(values[2], scores[2].topk(20).values)
    # every index names a score equal to the value returned for it
    assert torch.equal(scores.gather(1, indices), values)


@pytest.mark.parametrize("columns", [20_000, 20_003, 4_096, 300, 100])
@pytest.mark.parametrize("rows", [1, 10, 64])
@pytest.mark.parametrize("margin", [0.0, math.log(10), 4.0])
def test_near_row_maxima_finds_what_comparing_every_score_finds(rows, columns, margin) -> None:
    generator = torch.Generator().manual_seed(columns + rows)
    scores = torch.log_softmax(3 * torch.randn(rows, columns, generator=generator), dim=1)
    expected = (scores >= scores.amax(dim=1, keepdim=True) - margin).nonzero(as_tuple=True)
    found = near_row_maxima(scores, margin)
    assert torch.equal(found[0], expected[0]) and torch.equal(found[1], expected[1])


def test_near_row_maxima_in_the_partial_block_and_on_rows_of_minus_infinity() -> None:
    scores = torch.full((3, 10_050), -math.inf)
    scores[0, [3, 10_049]] = torch.tensor([-1.0, -0.5])  # the best in the partial last block
    scores[0, 5_000] = -9.0  # too far below
    scores[2, 10_000:10_003] = torch.tensor([-2.0, -0.1, -2.2])  # the partial block's first ids
    rows, columns = near_row_maxima(scores, 2.0)
    found = list(zip(rows.tolist(), columns.tolist()))
    # row 1 holds -inf alone: -inf >= -inf - 2 everywhere, as the plain comparison finds
    assert found[:2] == [(0, 3), (0, 10_049)]
    assert found[2:-2] == [(1, column) for column in range(10_050)]
    assert found[-2:] == [(2, 10_000), (2, 10_001)]


def _group_topk_by_torch(scores, offsets, group_rows, k):
    """What group_topk returns, from one torch.topk over each group's every score."""
    groups, columns = len(scores) // group_rows, scores.shape[1]
    totals = (scores + offsets[:, None]).view(groups, group_rows * columns)
    values, flat = totals.topk(k, dim=1)
    return values, flat // columns + torch.arange(groups)[:, None] * group_rows, flat % columns


@pytest.mark.parametrize("columns", [20_000, 20_003, 4_096, 300, 7])
@pytest.mark.parametrize("rows, group_rows", [(1, 1), (10, 10), (320, 10), (12, 3)])
def test_group_topk_finds_what_one_topk_per_group_finds(rows, group_rows, columns) -> None:
    generator = torch.Generator().manual_seed(columns + rows)
    scores = torch.log_softmax(3 * torch.randn(rows, columns, generator=generator), dim=1)
    offsets = 5 * torch.randn(rows, generator=generator)
    offsets[1::group_rows + 1] = -math.inf  # dead beams
    k = min(2 * group_rows, group_rows * columns)
    expected = _group_topk_by_torch(scores, offsets, group_rows, k)
    found = group_topk(scores, offsets, group_rows, k)
    finite = torch.isfinite(expected[0])
    assert torch.equal(found[0], expected[0])
    assert torch.equal(found[1][finite], expected[1][finite])
    assert torch.equal(found[2][finite], expected[2][finite])


def test_group_topk_with_the_best_crowded_into_one_row_and_the_partial_last_block() -> None:
    scores = torch.zeros(4, 10_050)
    tenth_best = 7.5 + torch.arange(10.0) / 20
    scores[1, 10_040:] = tenth_best  # one row's partial last block holds ten of the best
    scores[2, 300] = 4.0
    offsets = torch.tensor([0.0, 0.0, 7.0, -math.inf])  # row 2's other scores total 7, row 3 dead
    values, rows, columns = group_topk(scores, offsets, 4, 12)
    assert values[0].tolist() == [11.0, *tenth_best.flip(0).tolist(), 7.0]
    assert rows[0].tolist() == [2] + [1] * 10 + [2]
    assert columns[0, :11].tolist() == [300, *range(10_049, 10_039, -1)]
    assert columns[0, 11] != 300
