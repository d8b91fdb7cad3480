"""bots/chinese.yaml: a jieba bot, trained on a tiny Chinese twitter-format corpus written here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botframework import Bot
from botframework.cli import main

pytest.importorskip("jieba")

BOTS = Path(__file__).resolve().parents[1] / "bots"
CHINESE_PAIRS = [
    ("你好", "你好，很高兴认识你"),
    ("你叫什么名字？", "我叫小明"),
    ("今天天气怎么样？", "今天天气很好"),
    ("你喜欢音乐吗？", "我喜欢听音乐"),
    ("你住在哪里？", "我住在北京"),
    ("晚安", "晚安，好梦"),
    ("你吃饭了吗？", "我吃过了，谢谢"),
    ("你会说英语吗？", "我会说一点"),
    ("再见", "再见，明天见"),
    ("谢谢你", "不客气"),
]
SMALL = [
    "model.embedding_size=16", "model.hidden_size=32", "model.num_layers=1", "model.dropout=0.0",
    "model.sampled_softmax=0", "training.batch_size=10", "training.learning_rate=0.01",
    "training.max_steps=150", "training.max_epochs=1000", "training.steps_per_checkpoint=150",
    "corpus.validation_fraction=0.0",
]
CHINESE_CHARACTER = re.compile(r"[\u4e00-\u9fff]")


pytestmark = pytest.mark.usefixtures("one_thread")


def test_chinese_bot_trains_on_a_twitter_format_corpus_and_replies_without_spaces(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"{p}\n{r}\n" for p, r in CHINESE_PAIRS), encoding="utf-8")
    overrides = [f"corpus.path={corpus}", f"workspace={tmp_path / 'work'}", *SMALL]
    sets = [arg for override in overrides for arg in ("--set", override)]
    yaml = BOTS / "chinese.yaml"
    assert main(["train", str(yaml), "--no-progress", *sets]) == 0

    bot = Bot.load(yaml, overrides)
    assert bot.tokenizer.name == "jieba"
    reply = bot.reply("你叫什么名字？")
    assert reply and CHINESE_CHARACTER.search(reply), reply
    assert not re.search(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]", reply), reply
    assert reply == "我叫小明"  # the tiny model recites its corpus
