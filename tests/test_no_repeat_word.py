"""`no_repeat_word`: no content word twice in one reply, and one greeting at most."""

from __future__ import annotations

import pytest
import yaml
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.greedy import GreedyDecoder
from botframework_plugins.rescorers.no_repeat_word import NoRepeatWord, _token_kinds
from botframework_plugins.tokenizers.word import WordTokenizer

from botframework.config.loader import load_definition
from botframework.evaluation.reply_quality import repeated_words
from botframework.plugins import build_plugin_manager, collect_parts
from botframework.text import words
from tests.conftest import TINY_PAIRS
from tests.test_beam import decode, named, train_toy
from tests.test_well_formed import PROMPTS, banned_after

pytestmark = pytest.mark.usefixtures("one_thread")

#: Replies that a model fitted to them reproduces, each saying a word twice or greeting twice.
REPEATING_PAIRS = [
    ("where would you go ?", "probably to europe or europe"),
    ("what do you read ?", "i love fantasy and fantasy"),
    ("hi", "hello hey hello ! how is it going ?"),
    ("what is for dinner ?", "good food and food"),
]


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    tokenizer = WordTokenizer()
    texts = [text for pair in TINY_PAIRS + REPEATING_PAIRS for text in pair]
    tokenizer.train(texts + ["good morning , i like dogs and i like cats . no no"], 1000)
    return tokenizer


def test_a_content_word_already_said_is_banned_anywhere_after(tokenizer) -> None:
    banned = banned_after(NoRepeatWord(), tokenizer, "probably to europe or")
    assert "europe" in banned and "probably" in banned
    assert not {"to", "or", "", ".", "?"} & banned  # function words and punctuation may repeat
    assert not {"i", "like", "no"} & banned_after(NoRepeatWord(), tokenizer, "i like dogs and no")
    assert banned_after(NoRepeatWord(), tokenizer, "") == set()


def test_once_a_reply_greets_no_greeting_word_follows(tokenizer) -> None:
    banned = banned_after(NoRepeatWord(), tokenizer, "hello")
    assert {"hello", "hey", "hi"} <= banned
    assert "morning" not in banned_after(NoRepeatWord(), tokenizer, "hey , good")
    assert "hey" not in banned_after(NoRepeatWord(), tokenizer, "good morning")


def test_may_repeat_lets_listed_words_come_again(tokenizer) -> None:
    rescorer = NoRepeatWord(may_repeat=["Europe", "hey"])
    assert "europe" not in banned_after(rescorer, tokenizer, "europe or")
    assert "hey" not in banned_after(rescorer, tokenizer, "hey")
    assert "hello" in banned_after(rescorer, tokenizer, "hello")


@pytest.mark.parametrize("value", ["europe", [1], ["two words"], ["?"], {"europe": 1}])
def test_may_repeat_must_be_a_list_of_single_words(value) -> None:
    with pytest.raises(ValueError, match="may_repeat"):
        NoRepeatWord(may_repeat=value)


def test_only_tokens_that_start_a_word_are_banned_with_subwords() -> None:
    parts = collect_parts(build_plugin_manager())
    subword = parts.tokenizers.create("subword", {"lowercase": True}, where="test")
    texts = ["playing and singing", "the playing field", "we sing and play"] * 20
    subword.train(texts, 300)
    kinds = _token_kinds(subword, frozenset())
    sentence = "we sing and play singing"
    expected = [word not in ("we", "and") for word in words(sentence)]
    assert kinds.content[subword.encode(sentence)].tolist() == expected
    # pieces that continue a word ("ing" of "sing|ing") join it without a space: never banned
    ordinary = range(subword.sep_id + 1, subword.vocab_size)
    inside = [
        i for i in ordinary if subword.decode([i]).isalpha() and " " not in subword.decode([i, i])
    ]
    assert inside and not kinds.content[inside].any()


def test_words_written_without_spaces_are_never_banned() -> None:
    parts = collect_parts(build_plugin_manager())
    jieba = parts.tokenizers.create("jieba", {}, where="test")
    jieba.train(["我喜欢音乐，你喜欢什么音乐？", "我们去公园吧", "我 喜欢 music"] * 5, 200)
    kinds = _token_kinds(jieba, frozenset())
    assert [jieba.decode([int(i)]) for i in kinds.content.nonzero().view(-1)] == ["music"]


def test_a_model_that_learned_repeating_replies_gives_none_of_them(tokenizer) -> None:
    model, _ = train_toy(TINY_PAIRS + REPEATING_PAIRS, steps=150, tokenizer=tokenizer)
    prompts = [prompt for prompt, _ in REPEATING_PAIRS]
    plain = decode(GreedyDecoder(), model, tokenizer, prompts)
    plain_replies = [tokenizer.decode(row[0].token_ids) for row in plain]
    assert sum(bool(repeated_words(words(reply))) for reply in plain_replies) >= 3, plain_replies
    rescorers = [named(NoRepeatWord(), "no_repeat_word")]
    for decoder in (GreedyDecoder(), BeamSearch(beam_size=4)):
        for row in decode(decoder, model, tokenizer, prompts + PROMPTS, rescorers):
            reply = tokenizer.decode(row[0].token_ids)
            assert not repeated_words(words(reply)), reply


def test_the_shipped_bots_ban_repeats_before_the_anti_lm() -> None:
    parts = collect_parts(build_plugin_manager())
    rescorer = parts.rescorers.create("no_repeat_word", {}, "bot.yaml: decoding.rescorers")
    assert isinstance(rescorer, NoRepeatWord) and rescorer.may_repeat == frozenset()
    for path in ("bots/chitchat.yaml", "bots/page.yaml"):  # page.yaml needs the Page's secrets
        listed = yaml.safe_load(open(path, encoding="utf-8"))["decoding"]["rescorers"]
        names = [part if isinstance(part, str) else part["name"] for part in listed]
        assert names.index("no_repeat_word") < names.index("antilm"), path
    shipped = load_definition("bots/chitchat.yaml").config.decoding.rescorers
    assert "no_repeat_word" in [part.name for part in shipped]
