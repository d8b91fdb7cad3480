"""The `no_unprompted_greeting` and `no_unprompted_farewell` rescorers: a greeting answers a
greeting, a goodbye a goodbye, not a question."""

from __future__ import annotations

import math

import pytest
import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.rescorers.unprompted import NoUnpromptedFarewell, NoUnpromptedGreeting

from botframework.evaluation.reply_quality import opens_with_greeting, says_farewell
from tests.conftest import TINY_PAIRS
from tests.test_beam import context, decode, named, train_toy

pytestmark = pytest.mark.usefixtures("one_thread")

#: Prompts that are not greetings, answered with one, as the chit-chat model learned to do.
GREETING_REPLIES = [
    ("do you have friends ?", "hi again friends"),
    ("i am nervous about my interview", "hello interview"),
    ("what are you reading ?", "good morning reading"),
    ("are you sad ?", "oh hey sad"),
    ("hello there", "hi how are you"),
]
#: Questions answered with a goodbye, and a goodbye answered with one.
FAREWELL_REPLIES = [
    ("do you cook ?", "yes but i have to go now"),
    ("where do you live ?", "utah nice talking to you"),
    ("good night", "good night to you"),
]


def penalised_after(rescorer, tokenizer, prompt: str, prefix: str) -> dict[str, float]:
    """The tokens ``rescorer`` changes after ``prefix`` in a reply to ``prompt``, and by what."""
    ids = tokenizer.encode(prefix)
    prefixes = torch.tensor([ids], dtype=torch.long).reshape(1, len(ids))
    log_probs = torch.zeros(1, tokenizer.vocab_size)
    scores = rescorer(context(None, tokenizer, [prompt]), prefixes, log_probs)[0]
    return {tokenizer.decode([i]): float(scores[i]) for i in scores.nonzero().flatten().tolist()}


@pytest.fixture(scope="module")
def toy():
    return train_toy(TINY_PAIRS + GREETING_REPLIES * 2 + FAREWELL_REPLIES * 2, steps=150)


def test_a_reply_to_a_question_cannot_open_with_a_greeting(toy) -> None:
    _, tokenizer = toy
    banned = penalised_after(NoUnpromptedGreeting(), tokenizer, "do you have friends ?", "")
    assert {"hi", "hello"} <= set(banned) and set(banned.values()) == {-math.inf}
    assert "good" not in banned  # "good question" is fine ...
    assert set(penalised_after(NoUnpromptedGreeting(), tokenizer, "what ?", "good")) == {"morning"}
    after_oh = penalised_after(NoUnpromptedGreeting(), tokenizer, "what ?", "oh")
    assert {"hi", "hello"} <= set(after_oh)  # "Oh hey" is a greeting too
    assert not penalised_after(NoUnpromptedGreeting(), tokenizer, "what ?", "i")  # ... later on
    assert not penalised_after(NoUnpromptedGreeting(), tokenizer, "what ?", "i said hi")


def test_a_greeting_may_answer_a_greeting(toy) -> None:
    _, tokenizer = toy
    for prompt in ("hello there", "Hi!", "good morning"):
        assert not penalised_after(NoUnpromptedGreeting(), tokenizer, prompt, ""), prompt


def test_a_finite_weight_is_subtracted(toy) -> None:
    _, tokenizer = toy
    changed = penalised_after(NoUnpromptedGreeting(weight=2.5), tokenizer, "what ?", "")
    assert changed["hi"] == -2.5 and changed["hello"] == -2.5


@pytest.mark.parametrize("value", [0, -1, math.nan, True, "inf"])
@pytest.mark.parametrize("rescorer", [NoUnpromptedGreeting, NoUnpromptedFarewell])
def test_the_weight_is_validated(rescorer, value) -> None:
    with pytest.raises(ValueError, match="weight"):
        rescorer(weight=value)


def test_a_model_that_learned_to_greet_answers_the_question_instead(toy) -> None:
    model, tokenizer = toy
    prompts = [prompt for prompt, _ in GREETING_REPLIES]
    plain = decode(GreedyDecoder(), model, tokenizer, prompts)
    plain_replies = [tokenizer.decode(row[0].token_ids) for row in plain]
    assert all(map(opens_with_greeting, plain_replies)), plain_replies  # the toy learned them
    rescorer = named(NoUnpromptedGreeting(), "no_unprompted_greeting")
    for decoder in (GreedyDecoder(), BeamSearch(beam_size=4)):
        rows = decode(decoder, model, tokenizer, prompts, [rescorer])
        replies = [tokenizer.decode(row[0].token_ids) for row in rows]
        greeting = [opens_with_greeting(reply) for reply in replies]
        assert greeting == [False, False, False, False, True], replies
        assert all(replies), replies


def test_a_reply_to_a_question_says_no_goodbye(toy) -> None:
    _, tokenizer = toy
    rescorer = NoUnpromptedFarewell()
    assert "go" in penalised_after(rescorer, tokenizer, "do you cook ?", "yes but i have to")
    assert "talking" in penalised_after(rescorer, tokenizer, "do you cook ?", "utah nice")
    assert "bye" in penalised_after(rescorer, tokenizer, "do you cook ?", "")
    assert "go" not in penalised_after(rescorer, tokenizer, "do you cook ?", "yes but i have")
    assert not penalised_after(rescorer, tokenizer, "good night", "yes but i have to")


def test_a_model_that_learned_to_leave_answers_without_leaving(toy) -> None:
    model, tokenizer = toy
    prompts = [prompt for prompt, _ in FAREWELL_REPLIES]
    plain = decode(GreedyDecoder(), model, tokenizer, prompts)
    plain_replies = [tokenizer.decode(row[0].token_ids) for row in plain]
    assert all(map(says_farewell, plain_replies)), plain_replies  # the toy learned them
    rescorer = named(NoUnpromptedFarewell(), "no_unprompted_farewell")
    for decoder in (GreedyDecoder(), BeamSearch(beam_size=4)):
        rows = decode(decoder, model, tokenizer, prompts, [rescorer])
        replies = [tokenizer.decode(row[0].token_ids) for row in rows]
        assert [says_farewell(reply) for reply in replies] == [False, False, True], replies
        assert all(replies), replies
