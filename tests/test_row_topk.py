"""row_topk finds exactly what torch.topk finds, by way of block maxima."""

from __future__ import annotations

import math

import pytest
import torch

from botframework import row_topk


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
