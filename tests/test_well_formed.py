"""The rescorers that keep replies well formed: `well_formed` and `no_masked_numbers`."""

from __future__ import annotations

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.rescorers.no_masked_numbers import NoMaskedNumbers
from botframework_plugins.rescorers.well_formed import WellFormed
from botframework_plugins.tokenizers.word import WordTokenizer

from botframework.evaluation.reply_quality import is_broken
from tests.conftest import TINY_PAIRS
from tests.test_beam import context, decode, named, train_toy

pytestmark = pytest.mark.usefixtures("one_thread")

PROMPTS = [prompt for prompt, _ in TINY_PAIRS]
#: Replies that a model fitted to them reproduces, each broken or holding a masked number.
BAD_PAIRS = [
    ("what do you like ?", "i like the"),
    ("are you sure ?", "i am am sure"),
    ("where are you from ?", "i come from"),
    ("how old are you ?", "0 0"),
    ("what time is it ?", "it is 0:00"),
    ("how many cats ?", "00"),
    ("do you sing ?", "no no"),
    ("what is that ?", "a"),
]


def banned_after(rescorer: WellFormed, tokenizer: WordTokenizer, prefix: str) -> set[str]:
    """The tokens ``rescorer`` bans after ``prefix`` ("" for the end marker)."""
    ids = tokenizer.encode(prefix)
    prefixes = torch.tensor([ids], dtype=torch.long).reshape(1, len(ids))
    ctx = context(None, tokenizer, ["hi"])
    log_probs = torch.zeros(1, tokenizer.vocab_size)
    scores = rescorer(ctx, prefixes, log_probs)
    return {tokenizer.decode([i]) for i in torch.isinf(scores[0]).nonzero().flatten().tolist()}


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    words = WordTokenizer()
    words.train([text for pair in TINY_PAIRS + BAD_PAIRS for text in pair] + ["? . !"], 1000)
    return words


def test_a_reply_cannot_end_on_a_word_that_cannot_end_a_sentence(tokenizer) -> None:
    rescorer = WellFormed()
    for prefix in ("i like the", "i like my", "no but", "i am a small model and"):
        assert {"", ".", "!", "?"} <= banned_after(rescorer, tokenizer, prefix), prefix
    for prefix in ("i like jazz", "yes i do", "i am", "i like jazz ."):
        assert not {"", ".", "!", "?"} & banned_after(rescorer, tokenizer, prefix), prefix


def test_after_a_preposition_only_a_question_may_end(tokenizer) -> None:
    rescorer = WellFormed()
    banned = banned_after(rescorer, tokenizer, "where do you live in")
    assert {"", ".", "!"} <= banned and "?" not in banned
    assert "" not in banned_after(rescorer, tokenizer, "where do you live in ?")


def test_min_words_keeps_the_reply_going(tokenizer) -> None:
    assert "" in banned_after(WellFormed(min_words=3), tokenizer, "good morning")
    assert "" not in banned_after(WellFormed(min_words=2), tokenizer, "good morning")
    assert "" in banned_after(WellFormed(), tokenizer, "")  # an empty reply is broken too
    assert "" not in banned_after(WellFormed(min_words=0), tokenizer, "")


def test_a_word_is_never_said_twice_in_a_row(tokenizer) -> None:
    rescorer = WellFormed()
    assert "am" in banned_after(rescorer, tokenizer, "i am")
    assert "no" not in banned_after(rescorer, tokenizer, "no")  # "no no" is how people talk
    assert "?" not in banned_after(rescorer, tokenizer, "where do you live ?")
    assert "live" in banned_after(rescorer, tokenizer, "where do you live ?")  # not "live? live"


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_min_words_is_validated(value) -> None:
    with pytest.raises(ValueError, match="min_words"):
        WellFormed(min_words=value)


def test_a_model_that_learned_bad_replies_gives_none_of_them() -> None:
    model, tokenizer = train_toy(TINY_PAIRS + BAD_PAIRS, steps=150)
    prompts = [prompt for prompt, _ in BAD_PAIRS]
    plain = decode(GreedyDecoder(), model, tokenizer, prompts)
    plain_replies = [tokenizer.decode(row[0].token_ids) for row in plain]
    assert sum(map(is_broken, plain_replies)) >= 3, plain_replies  # the toy learned them
    assert any("0" in reply for reply in plain_replies), plain_replies
    rescorers = [named(WellFormed(), "well_formed"), named(NoMaskedNumbers(), "no_masked_numbers")]
    for decoder in (GreedyDecoder(), BeamSearch(beam_size=4)):
        for row in decode(decoder, model, tokenizer, prompts + PROMPTS, rescorers):
            reply = tokenizer.decode(row[0].token_ids)
            assert not is_broken(reply) and "0" not in reply, reply
