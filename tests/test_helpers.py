"""The low-level helpers every layer shares: padding rows of ids, cutting a dialogue's turns."""

from __future__ import annotations

import pytest
import torch

from botframework.data.turns import last_turns
from botframework.tensors import pad_sequences


def test_pad_sequences_pads_with_the_pad_id_and_returns_lengths() -> None:
    ids, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]], pad_id=3)
    assert ids.tolist() == [[5, 6, 7], [8, 3, 3], [9, 10, 3]]
    assert lengths.tolist() == [3, 1, 2]
    assert ids.dtype == lengths.dtype == torch.long


def test_pad_sequences_defaults_to_zero_on_the_cpu() -> None:
    ids, lengths = pad_sequences([(1,), (2, 3)])
    assert ids.tolist() == [[1, 0], [2, 3]] and lengths.tolist() == [1, 2]
    assert ids.device.type == lengths.device.type == "cpu"


@pytest.mark.parametrize(
    ("turns", "count", "kept"),
    [
        (["a", "b", "c"], 2, ["b", "c"]),
        (["a", "b", "c"], 1, ["c"]),
        (["a"], 3, ["a"]),
        ([], 2, []),
        (("a", "b"), 0, []),
    ],
)
def test_last_turns_keeps_the_most_recent(turns: list[str], count: int, kept: list[str]) -> None:
    assert last_turns(turns, count) == kept

