"""Scoring whole replies without gradients (MMI-bidi's backward pass) and in decoding steps."""

from __future__ import annotations

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.rescorers.mmi_bidi import BidirectionalMMI

from botframework import apply_candidate_rescorers
from botframework.data.batch import collate
from botframework.model import Seq2Seq
from tests.conftest import TINY_PAIRS
from tests.test_beam import context, named, train_toy
from tests.test_model import VOCAB, _scoring_args, random_pairs, tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("source_cache", [0.0, 0.1])
def test_scoring_without_gradients_equals_the_full_softmax(source_cache: float) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(source_cache=source_cache)).eval()
    args = _scoring_args(collate(random_pairs(6, seed=4)))
    full = model.sequence_log_probs(*args)  # with gradients: the whole (B, T, V) softmax
    assert full.requires_grad
    with torch.inference_mode():  # only the real positions, a chunk at a time
        without = model.sequence_log_probs(*args)
    torch.testing.assert_close(without, full.detach(), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("source_cache", [0.0, 0.1])
def test_scoring_in_buckets_of_similar_length_keeps_each_row_its_own_score(
    source_cache: float,
) -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config(source_cache=source_cache)).eval()
    args = _scoring_args(collate(random_pairs(9, seed=7)))
    assert len(set(args[3].tolist())) > 3  # targets of many lengths, so buckets cut padding
    with torch.inference_mode():
        whole = model.sequence_log_probs(*args, bucket=len(args[0]))
        bucketed = model.sequence_log_probs(*args, bucket=2)
        rows = [[a[i : i + 1] for a in args] for i in range(9)]
        alone = torch.cat([model.sequence_log_probs(*row) for row in rows])
    torch.testing.assert_close(bucketed, whole, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bucketed, alone, atol=1e-5, rtol=1e-5)


def test_decoding_steps_equal_the_plain_projection() -> None:
    torch.manual_seed(0)
    model = Seq2Seq(VOCAB, tiny_config()).eval()
    source, lengths = torch.randint(4, VOCAB, (3, 5)), torch.tensor([5, 4, 2])
    with torch.inference_mode():
        state = model.start(model.encode(source, lengths))
        tokens = torch.tensor([1, 1, 1])
        plain, _ = model.step(tokens, state)
        transposed, _ = model.step(tokens, state, transposed_output=True)
    torch.testing.assert_close(transposed, plain, atol=1e-5, rtol=1e-5)


def test_mmi_bidi_scores_every_candidate_of_every_input_in_one_backward_pass() -> None:
    model, tokenizer = train_toy(TINY_PAIRS, steps=60)
    reverse, _ = train_toy([(r, p) for p, r in TINY_PAIRS], steps=60, tokenizer=tokenizer)
    calls: list[int] = []
    score = reverse.sequence_log_probs

    def counted(source_ids, *args):
        calls.append(len(source_ids))
        return score(source_ids, *args)

    reverse.sequence_log_probs = counted
    prompts = [prompt for prompt, _ in TINY_PAIRS[:5]]
    ctx = context(model, tokenizer, prompts)
    ctx.extra_models["reverse"] = reverse
    bidi = named(BidirectionalMMI(weight=0.5), "mmi_bidi")
    with torch.inference_mode():
        candidates = BeamSearch(beam_size=4)(ctx, [])
        reranked = apply_candidate_rescorers(ctx, [bidi], candidates)
    assert calls == [sum(len(row) for row in candidates)] and calls[0] > len(prompts)
    assert all(c.scores["mmi_bidi"] != 0 for row in reranked for c in row)
