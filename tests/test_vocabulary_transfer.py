"""``train --init-from --new-vocabulary``: a word model's weights carried over to cased subwords."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from botframework.cli import main
from tests.conftest import TINY_PAIRS

# min_frequency 1: every word of the tiny corpus becomes one token, as frequent words do in a real one.
SUBWORDS = [
    *("--set", "tokenizer.name=subword", "--set", "tokenizer.vocab_size=1000"),
    *("--set", "tokenizer.options.min_frequency=1"),
]
STILL = ["--set", "training.max_steps=1", "--set", "training.learning_rate=0.0000001"]


def _copy_bot(tiny_bot_yaml: Path, destination: Path) -> Path:
    shutil.copytree(tiny_bot_yaml.parent, destination, ignore=shutil.ignore_patterns("works"))
    return destination / tiny_bot_yaml.name


def _checkpoint(tiny_bot_yaml: Path) -> Path:
    return sorted((tiny_bot_yaml.parent / "works/tiny/checkpoints").glob("*.safetensors"))[-1]


def test_mapped_weights_reply_as_the_word_model_did(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    from botframework import Bot

    yaml = _copy_bot(tiny_bot_yaml, tmp_path / "mapped")
    args = ["train", str(yaml), "--no-progress", "--init-from", str(_checkpoint(tiny_bot_yaml))]
    assert main([*args, "--new-vocabulary", *SUBWORDS, *STILL]) == 0
    bot = Bot.load(yaml, overrides=SUBWORDS[1::2])
    assert bot.tokenizer.name == "subword"
    replies = [bot.reply(prompt) for prompt, _ in TINY_PAIRS]
    assert replies == [reply for _, reply in TINY_PAIRS], replies


def test_without_the_mapping_the_same_step_recites_nothing(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    from botframework import Bot

    yaml = _copy_bot(tiny_bot_yaml, tmp_path / "fresh")
    assert main(["train", str(yaml), "--no-progress", *SUBWORDS, *STILL]) == 0
    bot = Bot.load(yaml, overrides=SUBWORDS[1::2])
    replies = [bot.reply(prompt) for prompt, _ in TINY_PAIRS]
    assert sum(got == want for got, (_, want) in zip(replies, TINY_PAIRS)) == 0


def test_unmatched_tokens_share_the_unknown_tokens_probability(tiny_bot_yaml: Path) -> None:
    from botframework import Bot
    from botframework.data.tokenizer import SPECIAL_TOKENS
    from botframework.training.vocabulary_transfer import transfer_vocabulary

    old = Bot.load(tiny_bot_yaml)
    new = _subword_tokenizer(["hello there unseenword", "Hello, friend!"])
    weights, report = transfer_vocabulary(old.model.state_dict(), old.tokenizer, new)
    matched = [new.encode(word)[0] for word in ("hello", "Hello", "there")]
    assert report.matched == len(SPECIAL_TOKENS) + len(matched)
    for index in matched:
        word = old.tokenizer.encode(new.decode([index]).strip().lower())[0]
        assert torch.equal(weights["embedding.weight"][index], old.model.state_dict()["embedding.weight"][word])
    hello = old.tokenizer.encode("hello")[0]
    bias = old.model.state_dict()["output.bias"]
    counts = torch.tensor(new.token_counts, dtype=torch.float64) + 1
    unmatched = [i for i in range(new.vocab_size) if torch.equal(weights["output.weight"][i],
                 old.model.state_dict()["output.weight"][old.tokenizer.unk_id])]
    word = new.encode("unseenword")
    assert len(word) == 1 and word[0] in unmatched
    share = counts[word[0]] / counts[unmatched].sum()
    assert torch.isclose(weights["output.bias"][word[0]], bias[old.tokenizer.unk_id] + share.log().float())
    cased, lower = new.encode("Hello"), new.encode("hello")
    assert len(cased) == len(lower) == 1 and cased != lower
    pair = counts[cased[0]] + counts[lower[0]]
    assert torch.isclose(weights["output.bias"][cased[0]], bias[hello] + (counts[cased[0]] / pair).log().float())


def test_new_vocabulary_needs_a_checkpoint(tiny_bot_yaml: Path, capsys) -> None:
    assert main(["train", str(tiny_bot_yaml), "--new-vocabulary"]) == 2
    assert "--new-vocabulary needs --init-from" in capsys.readouterr().err


def _subword_tokenizer(texts: list[str]):
    from botframework_plugins.tokenizers.subword import SubwordTokenizer

    tokenizer = SubwordTokenizer()
    tokenizer.train(texts * 5, 1000)
    return tokenizer
