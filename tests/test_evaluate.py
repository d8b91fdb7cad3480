"""Evaluation: the shared metric code and the ``eval`` command, extended through its hook."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from botframework.cli import main
from botframework.config.schema import ModelConfig
from botframework.data.corpus import Pair
from botframework.evaluation.metrics import (
    DEFAULT_DULL_REPLIES,
    distinct_n,
    dull_rate,
    is_dull,
    word_perplexity,
)
from botframework.model.seq2seq import Seq2Seq
from botframework_plugins.tokenizers.word import WordTokenizer

METRIC_PLUGIN = '''
from botframework import hookimpl


def question_rate(run):
    """The share of replies that ask something back."""
    return sum(reply.endswith("?") for reply in run.replies) / len(run.replies)


@hookimpl
def register_eval_metrics(register):
    register("question-rate", question_rate)
'''


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_distinct_n_counts_over_all_replies() -> None:
    replies = ["a b a", "a b", ""]
    assert distinct_n(replies, 1) == pytest.approx(2 / 5)
    assert distinct_n(replies, 2) == pytest.approx(2 / 3)
    assert distinct_n([], 2) == 0.0
    with pytest.raises(ValueError, match="n must be a positive integer"):
        distinct_n(replies, 0)


def test_dull_replies_are_matched_by_words_and_share() -> None:
    assert is_dull("I don't know.")
    assert is_dull("i don't know , sorry")
    assert is_dull("")
    assert not is_dull("i don't know the answer but i love riddles and jokes")
    assert not is_dull("good morning to you")
    assert is_dull("nope", ["nope"]) and not is_dull("i have no idea", ["nope"])
    assert dull_rate(["i have no idea", "sunny and warm", "i'm not sure", "blue"]) == 0.5
    assert "i don't know what you are talking about" in DEFAULT_DULL_REPLIES


def test_word_perplexity_divides_the_nll_by_words_plus_one() -> None:
    tokenizer = WordTokenizer()
    tokenizer.train(["hello there ! how are you"], vocab_size=100)
    size = tokenizer.vocab_size
    model = Seq2Seq(size, ModelConfig(embedding_size=4, hidden_size=4, num_layers=1, dropout=0.0))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()  # every token has probability 1/size whatever the context
    # 2 tokens + EOS over 2 words + 1: perplexity = size; "hello!" is 3 tokens over 1 word + 1.
    assert word_perplexity(model, tokenizer, [Pair(("hi",), "hello there")], 40) == pytest.approx(size)
    assert word_perplexity(model, tokenizer, [Pair(("hi",), "hello!")], 40) == pytest.approx(size**1.5)
    both = [Pair(("hi",), "hello there"), Pair(("how",), "hello!")]
    assert word_perplexity(model, tokenizer, both, 40, batch_size=1) == pytest.approx(size ** (6 / 5))


@pytest.fixture
def metric_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "question_metric.py").write_text(METRIC_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "question_metric"
    sys.modules.pop("question_metric", None)


def table_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| metric"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_eval_compares_checkpoints_with_plugin_metrics(
    tiny_bot_yaml: Path, metric_plugin: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = next((tiny_bot_yaml.parent / "works/tiny/checkpoints").glob("step-*"))
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("hi\thello there\ngood night\tsleep well\nhow are you ?\ti am fine thanks\n")
    output = tmp_path / "report.md"
    args = ["eval", str(tiny_bot_yaml), "--prompts", str(prompts), "--output", str(output)]
    args += ["--checkpoint", str(checkpoint), "--checkpoint", str(checkpoint)]
    args += ["--set", f"plugins.load=[{metric_plugin}]"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert output.read_text() == out
    assert out.startswith(f"| metric | {checkpoint.stem} | {checkpoint.stem} (2) |")
    rows = table_rows(out)
    expected = [
        "perplexity", "distinct-1", "distinct-2", "dull-rate", "simulated-turns",
        "reward: ease_of_answering", "reward: information_flow", "reward: semantic_coherence",
        "reward", "question-rate",
    ]
    assert list(rows) == expected
    assert rows["distinct-2"] == ["1", "1"]  # the tiny bot recites three different replies
    assert 1 < float(rows["perplexity"][0]) < 3
    assert 1 <= float(rows["simulated-turns"][0]) <= 5
    assert rows["reward: semantic_coherence"] == ["n/a", "n/a"]
    assert "reward 'semantic_coherence' not computed: the bot has no reverse model" in out
    assert rows["question-rate"] == ["0", "0"]


def test_eval_on_held_out_conversations_and_chosen_metrics(
    tiny_bot_yaml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", str(tiny_bot_yaml), "--metrics", "perplexity,simulated-turns", "--limit", "3"]
    assert main([*args, "--set", "corpus.validation_fraction=0.3"]) == 0
    out = capsys.readouterr().out
    assert list(table_rows(out)) == ["perplexity", "simulated-turns"]
    assert math.isfinite(float(table_rows(out)["perplexity"][0]))
    assert "3 prompts" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "no held-out prompts: corpus.validation_fraction leaves no validation conversation"),
        (["--prompts", "-", "--metrics", "nosuch"], "--metrics: unknown metric 'nosuch'; registered metrics: .*distinct-1"),
    ],
)
def test_eval_errors_are_precise(
    tiny_bot_yaml: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import re

    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
    assert main(["eval", str(tiny_bot_yaml), *extra]) == 2
    assert re.search(message, capsys.readouterr().err)
