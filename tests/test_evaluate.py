"""Evaluation: the shared metric code and the ``eval`` command, extended through its hook."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from botframework.cli import main
from botframework.decoding.settings import set_decoding
from botframework.config.schema import ModelConfig
from botframework.data.corpus import Pair
from botframework.evaluation.bigram import KneserNeyBigram, bigram_word_perplexity, fit_replies
from botframework.evaluation.configs import (
    ConfigContext,
    ConfigResult,
    bleu,
    decoding_config,
    default_configs,
    default_generic_rate,
    generic_rate,
    special_token_rate,
)
from botframework.evaluation.metrics import word_perplexity
from botframework.text import (
    DEFAULT_DULL_REPLIES,
    distinct_n,
    dull_rate,
    generic_replies,
    is_dull,
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


pytestmark = pytest.mark.usefixtures("one_thread")


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
        "perplexity", "bigram perplexity", "reduction vs bigram",
        "distinct-1", "distinct-2", "dull-rate", "generic-rate", "average-length",
        "broken-rate", "repeat-rate", "copy-rate", "greeting-rate", "farewell-rate",
        "well-formatted", "relevance", "simulated-turns",
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
    # "hello there", "sleep well", "i am fine thanks": 8 words, none broken, none written text
    assert rows["average-length"] == ["2.667", "2.667"]
    assert rows["broken-rate"] == rows["well-formatted"] == ["0", "0"]
    assert rows["repeat-rate"] == ["0", "0"]  # no reply says a content word twice


def test_eval_on_held_out_conversations_and_chosen_metrics(
    tiny_bot_yaml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", str(tiny_bot_yaml), "--metrics", "perplexity,simulated-turns", "--limit", "3"]
    assert main([*args, "--set", "corpus.validation_fraction=0.3"]) == 0
    out = capsys.readouterr().out
    assert list(table_rows(out)) == ["perplexity", "simulated-turns"]
    assert math.isfinite(float(table_rows(out)["perplexity"][0]))
    assert "3 prompts" in out


def test_perplexity_reads_only_the_turns_the_checkpoint_was_trained_on(tiny_bot) -> None:
    from botframework.evaluation.run import EvalRun

    assert tiny_bot.trained_config.corpus.context_turns == 1
    model, tokenizer = tiny_bot.model, tiny_bot.tokenizer
    run = EvalRun("tiny", tiny_bot, [["good night", "hi"]], ["hello there"])
    last_turn = word_perplexity(model, tokenizer, [Pair(("hi",), "hello there")], 40)
    both_turns = word_perplexity(model, tokenizer, [Pair(("good night", "hi"), "hello there")], 40)
    assert run.perplexity == pytest.approx(last_turn) and last_turn != pytest.approx(both_turns)


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


# --- the Kneser-Ney bigram baseline ---------------------------------------------------------


def hand_bigram() -> KneserNeyBigram:
    # bigrams: (<s>,a) x2, (a,b), (b,</s>), (a,</s>): 4 types; N1+(•a) = N1+(•b) = 1, N1+(•</s>) = 2
    return KneserNeyBigram(vocab_size=4, bos="<s>", eos="</s>").fit([["a", "b"], ["a"]])


def test_kneser_ney_bigram_matches_hand_computed_values() -> None:
    model = hand_bigram()
    floor = 0.75 * 3 / 4 / 4  # the discounted continuation mass, spread over V = 4 types
    assert model.continuation_prob("a") == pytest.approx(0.25 / 4 + floor)  # 0.203125
    assert model.continuation_prob("</s>") == pytest.approx(1.25 / 4 + floor)  # 0.453125
    assert model.continuation_prob("c") == pytest.approx(floor)  # never seen
    # p(b | a) = max(1 - .75, 0) / 2 + .75 * 2 / 2 * p_cont(b)
    assert model.prob("b", "a") == pytest.approx(0.125 + 0.75 * 0.203125)
    # p(a | <s>) = (2 - .75) / 2 + .75 * 1 / 2 * p_cont(a)
    assert model.prob("a", "<s>") == pytest.approx(0.625 + 0.375 * 0.203125)
    assert model.prob("a", "c") == model.continuation_prob("a")  # unseen context
    p_end = 0.25 + 0.75 * 0.453125  # p(</s> | b)
    expected = -math.log(0.625 + 0.375 * 0.203125) - math.log(0.27734375) - math.log(p_end)
    assert model.nll(["a", "b"]) == pytest.approx(expected)


@pytest.mark.parametrize("context", ["<s>", "a", "b", "c"])
def test_kneser_ney_bigram_sums_to_one_over_the_vocabulary(context: str) -> None:
    model = hand_bigram()
    assert sum(model.prob(w, context) for w in ["a", "b", "c", "</s>"]) == pytest.approx(1.0)
    assert sum(model.continuation_prob(w) for w in ["a", "b", "c", "</s>"]) == pytest.approx(1.0)


def test_kneser_ney_bigram_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="discount must be between 0 and 1"):
        KneserNeyBigram(4, "<s>", "</s>", discount=1.0)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer"):
        KneserNeyBigram(0, "<s>", "</s>")


def test_bigram_word_perplexity_counts_words_plus_one() -> None:
    tokenizer = WordTokenizer()
    tokenizer.train(["hello there ! how are you"], vocab_size=100)
    model = fit_replies(tokenizer, ["hello there", "how are you"])
    replies = ["hello there", "hello!"]
    nll = sum(model.nll(tokenizer.encode(reply)) for reply in replies)
    assert bigram_word_perplexity(model, tokenizer, replies) == pytest.approx(math.exp(nll / 5))
    assert math.isnan(bigram_word_perplexity(model, tokenizer, []))


# --- decoding configurations ------------------------------------------------------------------


def test_generic_replies_extend_the_dull_list() -> None:
    replies = generic_replies(["nope", "ok"])
    assert replies[:2] == ["nope", "ok"] and replies.count("ok") == 1
    assert {"i don't know", "me too", "i think so", "yes"} <= set(replies)
    assert dull_rate(["me too !", "ok", "yes i love jazz"], replies) == pytest.approx(2 / 3)


def test_decoding_configs_add_one_step_each(tiny_bot) -> None:
    config = tiny_bot.config
    greedy = decoding_config(config, "greedy").decoding
    assert greedy.decoder.name == "greedy" and greedy.rescorers == []
    beam = decoding_config(config, "beam").decoding
    assert (beam.decoder.name, beam.decoder.args["beam_size"], beam.rescorers) == ("beam", 10, [])
    bonus = decoding_config(config, "length_bonus").decoding
    assert [(r.name, r.args) for r in bonus.rescorers] == [("antilm", {}), ("length_bonus", {})]
    built = tiny_bot.build_decoding(decoding_config(config, "length_bonus")).step_rescorers
    # the rescorers' own defaults, the same as `--antilm` or a YAML entry without arguments gets
    assert [(r.name, r.weight) for r in built] == [("antilm", 0.3), ("length_bonus", 0.5)]
    assert built[0].first_tokens == 3
    tuned = set_decoding(config, antilm=0.2, first_tokens=5)
    antilm = decoding_config(tuned, "antilm").decoding
    assert [(r.name, r.args) for r in antilm.rescorers] == [
        ("antilm", {"weight": 0.2, "first_tokens": 5})
    ]
    mmi = decoding_config(config, "mmi").decoding.rescorers
    assert [r.name for r in mmi] == ["antilm", "length_bonus", "mmi_bidi"]
    assert default_configs(tiny_bot) == ["greedy", "beam", "antilm", "length_bonus"]


def test_bleu_of_short_replies_is_smoothed() -> None:
    context = ConfigContext(["hi there friend", "ok then"], generic_replies())
    short = bleu(ConfigResult("greedy", "greedy", ["hi there", "ok"], 1.0), context)
    assert 0 < short < 100
    assert bleu(ConfigResult("greedy", "greedy", ["hi there friend", "ok then"], 1.0), context) == (
        pytest.approx(100)
    )
    assert math.isnan(bleu(ConfigResult("greedy", "greedy", ["hi"], 1.0), ConfigContext(None, [])))


def test_generic_rate_rows_use_the_bots_list_and_the_default_one() -> None:
    result = ConfigResult("beam", "beam 10", ["yeah i agree", "me too", "i like jazz"], 1.0)
    context = ConfigContext(None, generic_replies(["yeah i agree"]))
    assert generic_rate(result, context) == pytest.approx(2 / 3)
    assert default_generic_rate(result, context) == pytest.approx(1 / 3)


def test_replies_showing_unknown_or_special_tokens_are_counted() -> None:
    replies = ["hi there", "a <unk> cat", "fine </s>", "ok"]
    result = ConfigResult("beam", "beam 10", replies, 1.0)
    assert special_token_rate(result, ConfigContext(None, [])) == 0.5


def test_eval_compares_decoding_configs_in_a_report_and_a_figure(
    tiny_bot_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("hi\thello there\ngood night\tsleep well\nhow are you ?\ti am fine thanks\n")
    report, figure = tmp_path / "report.md", tmp_path / "eval.png"
    args = ["eval", str(tiny_bot_yaml), "--prompts", str(prompts), "--configs"]
    args += ["--output", str(report), "--figure", str(figure), "--samples", "2"]
    assert main([*args, "--metrics", "perplexity,bigram-perplexity"]) == 0
    text = report.read_text()
    assert text == capsys.readouterr().out
    assert figure.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    checkpoints, configs = text.split("## Decoding configurations")
    rows = table_rows(checkpoints)
    assert 1 <= float(rows["perplexity"][0]) < float(rows["bigram perplexity"][0])
    assert math.isfinite(float(rows["bigram perplexity"][0]))
    assert 0 < float(rows["reduction vs bigram"][0]) < 1
    table, samples = configs.split("### Sample replies")
    labels = ["greedy", "beam 10", "beam 10 + anti-LM", "+ length bonus"]
    assert "| metric | " + " | ".join(labels) + " |" in table
    rows = table_rows(table)
    rates = ["generic-reply rate", "generic-reply rate, default list"]
    for name in ["distinct-1", "distinct-2", *rates, "most frequent reply share"]:
        assert all(0 <= float(value) <= 1 for value in rows[name]), name
    assert all(0 <= float(value) <= 100 for value in rows["BLEU"])
    assert all(float(value) > 0 for value in rows["replies per second"])
    assert all(float(value) > 0 for value in rows["average length (words)"])
    assert rows["distinct-2"][0] == "1" and float(rows["BLEU"][0]) > 50  # it recites its corpus
    assert rows["replies with unknown or special tokens"] == ["0"] * 4
    sample_rows = table_rows(samples)
    assert sample_rows["hi"] == ["hello there", "hello there", *["hello there"] * 3]
    assert list(sample_rows) == ["prompt", "hi", "good night"]  # a header, then --samples 2


def test_eval_configs_errors_are_precise(
    tiny_bot_yaml: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
    args = ["eval", str(tiny_bot_yaml), "--prompts", "-", "--metrics", "distinct-1"]
    assert main([*args, "--configs", "beam,nosuch"]) == 2
    error = capsys.readouterr().err
    assert "--configs: unknown configuration 'nosuch'; known: greedy, beam" in error
    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
    assert main([*args, "--configs", "mmi"]) == 2
    assert "'mmi' needs a reverse model" in capsys.readouterr().err


def test_word_metrics_count_words_as_the_bots_tokenizer_cuts_them() -> None:
    from botframework.evaluation.configs import average_length, distinct_1

    from botframework_plugins.tokenizers.jieba_words import JiebaTokenizer

    jieba, word = JiebaTokenizer(), WordTokenizer()
    assert (jieba.bleu_tokenize, word.bleu_tokenize) == ("zh", "13a")
    result = ConfigResult("greedy", "greedy", ["我喜欢猫", "我喜欢狗"], 1.0)
    chinese = ConfigContext(None, [], words=jieba.reply_words)
    assert distinct_1(result, chinese) == pytest.approx(4 / 6)  # 我 / 喜欢 / 猫, 我 / 喜欢 / 狗
    assert average_length(result, chinese) == 3
    spaced = ConfigContext(None, [], words=word.reply_words)
    assert distinct_1(result, spaced) == 1.0 and average_length(result, spaced) == 1
