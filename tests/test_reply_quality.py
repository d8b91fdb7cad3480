"""The reply-quality metrics of ``eval`` against hand-computed values."""

from __future__ import annotations

import math

import pytest

from botframework.cli import main
from botframework.evaluation import relevance as relevance_module
from botframework.evaluation.configs import ConfigContext, ConfigResult, CONFIG_METRICS
from botframework.evaluation.relevance import JudgeMissing, cosine, relevance
from botframework.evaluation.reply_quality import (
    average_words,
    broken_rate,
    copy_rate,
    copy_share,
    default_generic_rate,
    farewell_rate,
    farewell_words_after,
    format_rate,
    greeting_rate,
    is_broken,
    is_well_formatted,
    opens_with_greeting,
    repeat_rate,
    repeated_words,
    reply_quality,
    says_farewell,
)
from botframework.text import words


@pytest.mark.parametrize(
    "reply",
    [
        "i like the !",  # determiner
        "tell me about your",  # possessive
        "i went there and",  # conjunction
        "i am thinking of",  # preposition in a statement
        "robots are are robots",  # a word twice in a row
        "0 0",
        "the dog is",  # auxiliary after a noun
        "",
    ],
)
def test_broken_replies(reply: str) -> None:
    assert is_broken(reply)


@pytest.mark.parametrize(
    # an auxiliary after its subject is an elliptical answer ("I haven't."), not broken
    "reply", ["Yes, I do.", "i haven't .", "where are you from?", "no no, I love it", "I like this"]
)
def test_whole_replies_are_not_broken(reply: str) -> None:
    assert not is_broken(reply)


def test_broken_rate_is_the_share_of_broken_replies() -> None:
    assert broken_rate(["i like the !", "I like jazz.", "robots are are robots", "ok"]) == 0.5
    assert broken_rate([]) == 0.0


def test_copy_share_counts_distinct_content_words_of_the_reply() -> None:
    # content words of the reply: robots, stupid, cats (are, you: function words); 2 in the prompt
    assert copy_share("Robots are stupid", "robots are stupid cats, are you") == pytest.approx(2 / 3)
    assert copy_share("Robots are stupid", "robots are are robots") == 1.0
    assert copy_share("do you like pizza?", "yes i do") == 0.0  # no content word
    assert copy_rate(["a cat", "a dog"], ["cat food", "my bird"]) == pytest.approx((1 / 2 + 0) / 2)


def test_average_length_counts_words_not_punctuation() -> None:
    assert average_words(["I don't know .", "Hi!", ""]) == pytest.approx((3 + 1 + 0) / 3)


def test_generic_rate_uses_the_default_dull_list() -> None:
    replies = ["i don't know .", "Yes", "I like jazz a lot.", "ok"]
    assert default_generic_rate(replies) == pytest.approx(3 / 4)


@pytest.mark.parametrize(
    ("reply", "formatted"),
    [
        ("I'm 25, and you?", True),
        ("\"Dune\" is great.", True),
        ("i like the pizza.", False),  # lower-case start
        ("I like the pizza !", False),  # space before punctuation
        ("Yes, i do.", False),  # lower-case "i"
        ("I am 00 years old.", False),  # a run of zeros, not a real number
        ("0 0", False),  # only digits: never well formatted
        ("000", False),
        ("2024", False),
        ("", False),
        ("It costs 100 dollars.", True),
    ],
)
def test_well_formatted_replies(reply: str, formatted: bool) -> None:
    assert is_well_formatted(reply) is formatted


@pytest.mark.parametrize(
    "reply, repeated",
    [
        ("Probably to Europe or europe.", ["europe"]),
        ("Hello hey hello! How's it going?", ["hey", "hello"]),  # one greeting at most
        ("How lol what lol do you know? lol", ["lol"]),
        ("I like dogs and I like cats.", []),  # function words and common verbs may come again
        ("No no, I think so. Haha haha", []),
        ("Dancing, dancing and hiking, then hiking", ["dancing", "hiking"]),
        ("", []),
    ],
)
def test_repeated_words_are_content_words_said_again_anywhere(
    reply: str, repeated: list[str]
) -> None:
    assert repeated_words(words(reply)) == repeated


def test_repeat_rate_is_the_share_of_replies_saying_a_content_word_twice() -> None:
    replies = ["Probably to Europe or europe.", "I like dogs and I like cats.", "Hi!", "Yes yes"]
    assert repeat_rate(replies) == 0.25
    assert repeat_rate([]) == 0.0


def test_reply_quality_gives_every_row_for_prompt_reply_pairs() -> None:
    rows = reply_quality(["how old are you?", "hi"], ["0 0", "Hello there, friend!"])
    assert rows == {
        "average length (words)": pytest.approx(2.5),
        "generic-reply rate, default list": 0.0,
        "broken-reply rate": 0.5,
        "repeated-word rate": 0.5,  # "0 0"
        "copy rate": 0.0,
        "greeting rate (prompts that are not greetings)": 0.0,
        "farewell rate (prompts that are not farewells)": 0.0,
        "well-formatted share": 0.5,
    }
    assert format_rate([]) == 0.0


def test_relevance_is_the_mean_cosine_of_prompt_and_reply_vectors() -> None:
    vectors = {"p1": [1.0, 0.0], "p2": [0.0, 1.0], "r1": [1.0, 1.0], "r2": [0.0, 0.0]}
    embed = lambda texts: [vectors[t] for t in texts]  # noqa: E731
    # cos(p1, r1) = 1/sqrt(2); r2 is all zeros (an empty reply): 0
    assert relevance(["p1", "p2"], ["r1", "r2"], embed) == pytest.approx(1 / math.sqrt(2) / 2)
    assert cosine([3.0, 4.0], [3.0, 4.0]) == pytest.approx(1.0)
    assert math.isnan(relevance([], [], embed))


def test_the_packaged_model_finds_an_answer_more_relevant_than_an_unrelated_reply() -> None:
    prompts = ["do you like pizza?"] * 2
    on_topic = relevance(prompts[:1], ["Yes, pizza is my favourite food."])
    off_topic = relevance(prompts[:1], ["i love fantasy"])
    assert on_topic > off_topic + 0.2


def test_configs_table_has_the_new_rows_for_every_configuration() -> None:
    result = ConfigResult("beam", "beam 10", ["i like the !", "Robots are great."], 1.0)
    context = ConfigContext(None, [], prompts=["hi", "robots?"])
    rows = {name: metric(result, context) for name, metric in CONFIG_METRICS.items()}
    assert rows["broken-reply rate"] == 0.5
    assert rows["greeting rate"] == 0.0  # "robots?" is the one prompt that is no greeting
    greeted = ConfigResult("beam", "beam 10", ["Hello!", "Hi again robots!"], 1.0)
    assert CONFIG_METRICS["greeting rate"](greeted, context) == 1.0
    assert rows["farewell rate"] == 0.0
    leaving = ConfigResult("beam", "beam 10", ["Hi", "Robots, but I have to go now."], 1.0)
    assert CONFIG_METRICS["farewell rate"](leaving, context) == 0.5
    assert rows["copy rate"] == pytest.approx((0 + 1 / 2) / 2)  # robots of {robots, great}
    assert rows["well-formatted share"] == 0.5
    assert rows["average length (words)"] == pytest.approx(3.0)
    assert 0 < rows["relevance"] <= 1


def test_eval_says_when_the_relevance_model_is_missing(
    tiny_bot_yaml, tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing():
        raise JudgeMissing(relevance_module.MISSING_JUDGE)

    monkeypatch.setattr(relevance_module, "sentence_embedder", missing)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("hi\thello there\n")
    args = ["eval", str(tiny_bot_yaml), "--prompts", str(prompts), "--metrics", "relevance"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| relevance | n/a |" in out
    assert "pip install 'botframework[judge]'" in out


def test_written_decoding_gives_replies_the_format_metric_accepts(tiny_bot_yaml) -> None:
    from botframework import Bot

    prompts = [["how are you ?"], ["what is your name ?"]]
    plain = [row[0].text for row in Bot.load(tiny_bot_yaml).generate(prompts)]
    bot = Bot.load(tiny_bot_yaml, ["decoding.written=true"])
    written = [row[0].text for row in bot.generate(prompts)]
    assert plain == ["i am fine thanks", "my name is bot"]
    assert written == ["I am fine thanks", "My name is bot"]
    assert (format_rate(plain), format_rate(written)) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("text", "greeting"),
    [
        ("Hi again friends!", True),
        ("hey, how are you", True),
        ("Good morning to you", True),
        ("Good job!", False),
        ("Highway to hell", False),
        ("What's up?", True),
        ("Whats up hello?", True),
        ("Oh hey:) what's your major?", True),
        ("Haha, hi there", True),
        ("Lol hey sorry I gotta go", True),
        ("Oh well, I like it", False),
        ("Yes yes yes hey", False),  # past two interjections it is no opening
        ("Oh", False),
        ("", False),
    ],
)
def test_opens_with_greeting(text: str, greeting: bool) -> None:
    assert opens_with_greeting(text) is greeting


def test_greeting_rate_counts_only_replies_to_prompts_that_are_not_greetings() -> None:
    prompts = ["Do you have friends?", "hi", "good morning", "What is up there?", "Tell me a joke."]
    replies = ["Hi again friends!", "Hello!", "Morning!", "Oh, good morning to you", "Why not?"]
    # prompts 1, 4 and 5 are no greetings; replies 1 and 4 open with one
    assert greeting_rate(prompts, replies) == pytest.approx(2 / 3)
    assert greeting_rate(["hi"], ["Hello!"]) == 0.0
    assert greeting_rate([], []) == 0.0


@pytest.mark.parametrize(
    ("text", "farewell"),
    [
        ("Bye!", True),
        ("Yes, but I have to go now. It was nice talking to you!", True),
        ("Nice chatting with ya", True),
        ("Good night", True),
        ("Thanks for the chat!", True),
        ("I love cooking, have a great day", True),
        ("I have to say I like it", False),
        ("Good job, nice work", False),
        ("Byebye", False),
        ("", False),
    ],
)
def test_says_farewell(text: str, farewell: bool) -> None:
    assert says_farewell(text) is farewell


def test_farewell_words_after_completes_a_phrase_at_the_end_of_what_was_said() -> None:
    assert "go" in farewell_words_after(["yes", "i", "have", "to"])
    assert {"talking", "chatting"} <= farewell_words_after(["it", "was", "nice"])
    assert "go" not in farewell_words_after(["i", "have"])
    assert farewell_words_after([]) == {"bye", "goodbye", "goodnight"}


def test_farewell_rate_counts_only_replies_to_prompts_that_are_not_farewells() -> None:
    prompts = ["Where do you live?", "good night", "Do you cook?", "bye"]
    replies = ["Utah, but I have to go now!", "Good night!", "Yes, I love it.", "See you later"]
    # prompts 1 and 3 are no farewells; reply 1 is one
    assert farewell_rate(prompts, replies) == pytest.approx(1 / 2)
    assert farewell_rate([], []) == 0.0
