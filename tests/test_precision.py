"""The opt-in cheaper output layers keep the best replies of a trained model."""

from __future__ import annotations

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.rescorers.antilm import AntiLanguageModel

from botframework import output_precision
from tests.conftest import TINY_PAIRS
from tests.test_beam import decode, named, train_toy

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPTS = [prompt for prompt, _ in TINY_PAIRS]
#: The share of prompts whose best reply must stay the same for an opt-in to be worth offering.
AGREEMENT = 0.95


@pytest.fixture(scope="module")
def tiny(one_thread):
    return train_toy(TINY_PAIRS, steps=120, language_model=True)


def agreement(model, tokenizer, make_decoder, rescorers=()) -> float:
    full = decode(make_decoder("float32"), model, tokenizer, PROMPTS, rescorers)
    cheap = decode(make_decoder("int8"), model, tokenizer, PROMPTS, rescorers)
    same = sum(a[0].token_ids == b[0].token_ids for a, b in zip(full, cheap))
    return same / len(PROMPTS)


def test_int8_output_meets_its_agreement_in_beam_search_with_the_anti_lm(tiny) -> None:
    model, tokenizer = tiny
    antilm = named(AntiLanguageModel(weight=0.5, first_tokens=2), "antilm")
    beam = lambda dtype: BeamSearch(beam_size=4, output_dtype=dtype)  # noqa: E731
    assert agreement(model, tokenizer, beam, [antilm]) >= AGREEMENT
    assert type(model.output) is torch.nn.Linear  # the model is left as it was


def test_int8_output_meets_its_agreement_in_greedy_search(tiny) -> None:
    model, tokenizer = tiny
    assert agreement(model, tokenizer, lambda d: GreedyDecoder(output_dtype=d)) >= AGREEMENT


def test_int8_output_is_exact_for_each_rows_best_words_and_close_elsewhere() -> None:
    torch.manual_seed(0)
    holder = torch.nn.Module()
    holder.output = torch.nn.Linear(32, 1000)
    features = torch.randn(5, 32)
    with torch.inference_mode():
        full = holder.output(features)
        with output_precision(holder, "int8"):
            cheap = holder.output(features)
    best = full.topk(20, dim=1).indices
    assert torch.allclose(full.gather(1, best), cheap.gather(1, best), atol=1e-5)
    assert not torch.allclose(full, cheap, atol=1e-5)  # the rest comes from int8 weights ...
    assert torch.allclose(full, cheap, atol=0.05 * float(full.abs().max()))  # ... close to them
    assert type(holder.output) is torch.nn.Linear


def test_an_unknown_output_precision_is_named() -> None:
    with pytest.raises(ValueError, match="output dtype must be one of float32, bfloat16, int8"):
        output_precision(torch.nn.Module(), "half")
