"""The opt-in vocabulary shortlist: the common words and the prompts' words keep their exact
logits, every other word none."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from botframework import output_precision
from botframework.decoding.shortlist import ShortlistLinear, shortlist_words

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_shortlist_holds_the_common_words_and_the_prompts_words() -> None:
    output = nn.Linear(8, 100)
    prompts = torch.tensor([[1, 50, 60], [70, 0, 0]])
    words = shortlist_words(output, prompts, frequent=10)
    assert words.tolist() == [*range(10), 50, 60, 70]


@pytest.mark.parametrize("rows", [1, 12])
def test_shortlisted_words_keep_their_logits_and_the_rest_get_none(rows: int) -> None:
    torch.manual_seed(0)
    full = nn.Linear(16, 300)
    words = torch.tensor([0, 1, 2, 3, 4, 5, 120, 299])
    features = torch.randn(rows, 16)
    with torch.inference_mode():
        logits = ShortlistLinear(full, words)(features)
        expected = full(features)
    torch.testing.assert_close(logits[:, words], expected[:, words], atol=1e-5, rtol=1e-5)
    others = torch.ones(300, dtype=torch.bool).index_fill_(0, words, False)
    assert torch.isneginf(logits[:, others]).all()


def test_a_shortlist_is_made_for_the_prompts_and_the_layer_put_back() -> None:
    torch.manual_seed(0)
    holder = nn.Module()
    holder.output = nn.Linear(16, 9000)
    features = torch.randn(3, 16)
    with torch.inference_mode(), output_precision(holder, "shortlist", torch.tensor([[8500]])):
        logits = holder.output(features)
    assert torch.isfinite(logits[:, 8500]).all() and torch.isneginf(logits[:, 8499]).all()
    assert torch.isfinite(logits[:, :5000]).all()
    assert type(holder.output) is nn.Linear
