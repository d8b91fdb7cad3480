"""The built-in tokenizers: word, subword (byte-level BPE / Unigram) and jieba."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from botframework import ConfigError, Tokenizer
from botframework.plugins import Parts, build_plugin_manager, collect_parts

SAMPLE = Path(__file__).parent.parent / "bots" / "twitter" / "sample.txt"
UNSEEN = "Zyzzyva's café — naïve 😀 中文, ΩMEGA <s> </s> <unk> 12345!"


@pytest.fixture(scope="module")
def parts() -> Parts:
    # Only the data plugins are under test; the decoders are left out.
    return collect_parts(build_plugin_manager(block=["decoders.greedy"], entry_points=False))


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def trained(parts: Parts, name: str, texts: list[str], vocab_size: int, **options) -> Tokenizer:
    tokenizer = parts.tokenizers.create(name, options, where="test")
    tokenizer.train(texts, vocab_size)
    return tokenizer


def test_registered_names(parts: Parts) -> None:
    assert {"word", "subword", "jieba"} <= set(parts.tokenizers.factories)


# --- word -----------------------------------------------------------------------------------


def test_word_splits_punctuation_lowercases_and_normalises_digits(parts: Parts) -> None:
    tokenizer = parts.tokenizers.create("word", {}, where="test")
    assert tokenizer.split("Hello, World! I'm 42... (yes)") == [
        "hello", ",", "world", "!", "i'm", "00", ".", ".", ".", "(", "yes", ")",
    ]
    assert tokenizer.normalize("Call me at 555-1234!") == "call me at 000 - 0000 !"


def test_word_options_keep_case_and_digits(parts: Parts) -> None:
    tokenizer = parts.tokenizers.create(
        "word", {"lowercase": False, "normalize_digits": False}, where="test"
    )
    assert tokenizer.split("Room 101!") == ["Room", "101", "!"]


def test_word_ids_follow_frequency_and_unknowns_are_counted(parts: Parts) -> None:
    tokenizer = trained(parts, "word", ["b a a", "a b c", "d"], vocab_size=7)
    assert tokenizer.vocab_size == 7
    assert tokenizer.encode("a b c d") == [5, 6, tokenizer.unk_id, tokenizer.unk_id]
    # pad, bos, eos (one per text), unk (c and d), sep, then a and b.
    assert tokenizer.token_counts == [0, 0, 3, 2, 0, 3, 2]


def test_word_decode_drops_specials_and_stops_at_eos(parts: Parts) -> None:
    tokenizer = trained(parts, "word", ["how are you ?"], vocab_size=50)
    ids = tokenizer.encode("How are you?")
    assert tokenizer.decode([tokenizer.bos_id, *ids, tokenizer.eos_id, 5, 6, 0]) == "how are you ?"
    assert tokenizer.decode([tokenizer.pad_id, *ids]) == "how are you ?"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.decode([999])


@pytest.mark.parametrize(
    ("decoded", "written"),
    [
        ("i don't know . what's up ?", "I don't know. What's up?"),
        ("hi ! i'm 00 , and you ?", "Hi! I'm 00, and you?"),
        ("( really ) it's $ 0 , 50 % off : yes", "(Really) it's $0, 50% off: yes"),
        ("i do n't know , i ' m new", "I don't know, I'm new"),
        ("yes , i think i can . you ?", "Yes, I think I can. You?"),
        ("i've been to india", "I've been to india"),
        ("", ""),
    ],
)
def test_word_written_text_joins_punctuation_and_capitalises(
    parts: Parts, decoded: str, written: str
) -> None:
    tokenizer = trained(parts, "word", [decoded, "filler words"], 100)
    assert tokenizer.written(decoded) == written
    if "n't" not in decoded and " ' " not in decoded:
        assert tokenizer.encode(written) == tokenizer.encode(decoded)  # the same ids


def test_word_min_count_and_bad_options(parts: Parts) -> None:
    tokenizer = trained(parts, "word", ["a a b"], vocab_size=50, min_count=2)
    assert tokenizer.vocab_size == 6
    with pytest.raises(ConfigError, match=r"test: tokenizer 'word': min_count must be"):
        parts.tokenizers.create("word", {"min_count": 0}, where="test")
    with pytest.raises(ConfigError, match="lowercase must be true or false"):
        parts.tokenizers.create("word", {"lowercase": "yes"}, where="test")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        parts.tokenizers.create("word", {"casefold": True}, where="test")
    with pytest.raises(ValueError, match="vocab_size must be an integer above 5"):
        parts.tokenizers.create("word", {}, where="test").train(["a"], 5)


# --- subword --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["bpe", "unigram"])
def test_subword_never_produces_unknown_and_decodes_cleanly(
    parts: Parts, sample_texts: list[str], model: str
) -> None:
    tokenizer = trained(parts, "subword", sample_texts, vocab_size=400, model=model)
    assert tokenizer.vocab_size == 400
    ids = tokenizer.encode(UNSEEN)
    assert not set(ids) & {tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id, 3, 4}
    assert tokenizer.decode([tokenizer.bos_id, *ids, tokenizer.eos_id, 7, 8]) == UNSEEN
    assert tokenizer.decode(tokenizer.encode("how are you doing?")) == "how are you doing?"
    assert "Ġ" not in tokenizer.decode(range(5, 400))


@pytest.mark.parametrize("model", ["bpe", "unigram"])
def test_subword_round_trips_cased_text_with_numbers_and_punctuation(
    parts: Parts, sample_texts: list[str], model: str
) -> None:
    tokenizer = trained(parts, "subword", sample_texts, 500, model=model)
    for text in ["Hi! I'm 25, and you?", "It's 3:45 p.m. -- \"Really?\" (Yes.) Call 555-0199."]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
        assert tokenizer.written(text) == text  # already written text: nothing to do


def test_subword_specials_come_first(parts: Parts, sample_texts: list[str]) -> None:
    tokenizer = trained(parts, "subword", sample_texts, vocab_size=300)
    vocabulary = json.loads(json.loads(tokenizer.to_json())["tokenizer"])["model"]["vocab"]
    assert [vocabulary[t] for t in ("<pad>", "<s>", "</s>", "<unk>", "<sep>")] == [0, 1, 2, 3, 4]
    assert len(tokenizer.token_counts) == tokenizer.vocab_size
    assert tokenizer.token_counts[tokenizer.eos_id] == len(sample_texts)


def test_subword_lowercase_and_bad_options(parts: Parts) -> None:
    tokenizer = trained(parts, "subword", ["Hello THERE"] * 3, vocab_size=300, lowercase=True)
    assert tokenizer.normalize("Hello THERE") == "hello there"
    with pytest.raises(ConfigError, match="model must be 'bpe' or 'unigram'"):
        parts.tokenizers.create("subword", {"model": "wordpiece"}, where="test")
    with pytest.raises(ValueError, match="at least 261"):
        parts.tokenizers.create("subword", {}, where="test").train(["a"], 100)


# --- jieba ----------------------------------------------------------------------------------


CHINESE = ["我们今天去公园玩吧", "你好，我叫小明。", "我喜欢吃苹果", "今天天气很好，我们去公园吧"]


def test_jieba_segments_and_joins_without_spaces(parts: Parts, tmp_path: Path) -> None:
    pytest.importorskip("jieba")
    corpus = tmp_path / "chinese.txt"
    corpus.write_text("\n".join(CHINESE) + "\n", encoding="utf-8")
    texts = corpus.read_text(encoding="utf-8").splitlines()
    tokenizer = trained(parts, "jieba", texts, vocab_size=100)
    assert tokenizer.split("我们今天去公园") == ["我们", "今天", "去", "公园"]
    assert tokenizer.decode(tokenizer.encode("我们去公园吧")) == "我们去公园吧"
    assert tokenizer.normalize("公园 Hello World 2024") == "公园hello world 0000"
    assert tokenizer.encode("火星") == [tokenizer.unk_id]


def test_jieba_missing_names_the_extra(parts: Parts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jieba", None)
    with pytest.raises(ConfigError, match=r"pip install botframework\[chinese\]"):
        parts.tokenizers.create("jieba", {}, where="tokenizer.name")


# --- every tokenizer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options, vocab_size",
    [
        ("word", {"lowercase": False}, 500),
        ("subword", {"model": "bpe"}, 400),
        ("subword", {"model": "unigram", "lowercase": True}, 400),
        ("jieba", {"hmm": False}, 500),
    ],
)
def test_json_round_trip_keeps_everything(
    parts: Parts, sample_texts: list[str], name: str, options: dict, vocab_size: int
) -> None:
    if name == "jieba":
        pytest.importorskip("jieba")
        sample_texts = sample_texts[:200] + CHINESE
    tokenizer = trained(parts, name, sample_texts, vocab_size, **options)
    restored = type(tokenizer).from_json(tokenizer.to_json())
    assert restored.options == tokenizer.options
    assert restored.vocab_size == tokenizer.vocab_size
    assert restored.token_counts == tokenizer.token_counts
    assert len(restored.token_counts) == restored.vocab_size
    for text in sample_texts[:50] + [UNSEEN]:
        ids = tokenizer.encode(text)
        assert restored.encode(text) == ids
        assert all(0 <= i < tokenizer.vocab_size for i in ids)
        assert restored.decode(ids) == tokenizer.decode(ids)
