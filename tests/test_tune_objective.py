"""`botframework tune`'s combined objective: the terms, the weights, and the ranking they give."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.rescorers.antilm import AntiLanguageModel

from botframework.cli import main
from botframework.config.schema import BotConfig
from botframework.config.objective import combine, formula, parse_weights
from botframework.evaluation.tuning import Setting, best_trial, grid, measure, search
from tests.test_beam import decode, named, train_toy  # noqa: F401
from tests.test_rescorers import GENERIC, IDK_PAIRS

pytestmark = pytest.mark.usefixtures("one_thread")

COMBINED = "relevance=1,distinct2=1,generic=-1,broken=-1,copy=-1,short=-1"
WITHOUT_JUDGE = {"distinct2": 1.0, "generic": -1.0, "broken": -1.0, "copy": -1.0, "short": -1.0}
PROMPTS = ["do you like pizza?", "where are you from?", "hi there"]
REPLIES = ["i love pizza", "i love the", "ok"]


def pizza_vectors(texts: list[str]) -> list[list[float]]:
    """A stand-in embedding: texts about pizza point one way, the rest the other."""
    return [[1.0, 0.0] if "pizza" in text else [0.6, 0.8] for text in texts]


def test_every_term_and_the_objective_by_hand() -> None:
    terms = measure(REPLIES, [], PROMPTS, embed=pizza_vectors)
    # bigrams: (i love) twice, (love pizza), (love the): 3 distinct of 4; "ok" has none
    assert terms["distinct2"] == pytest.approx(3 / 4)
    assert terms["generic"] == pytest.approx(1 / 3)  # "ok"
    assert terms["broken"] == pytest.approx(1 / 3)  # "i love the" ends on a determiner
    # content words: {love, pizza} shares "pizza" with its prompt (1/2); {love}: 0; "ok": none
    assert terms["copy"] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert terms["short"] == pytest.approx(1 / 3)  # "ok": fewer than 3 words
    assert terms["length"] == pytest.approx(7 / 3)
    assert terms["format"] == 0.0  # nothing capitalised
    # cosines: pizza/pizza 1, other/other 1, other/other 1
    assert terms["relevance"] == pytest.approx(1.0)
    assert math.isnan(terms["bleu"])  # no references

    weights = parse_weights(COMBINED)
    by_hand = 1.0 + 3 / 4 - 1 / 3 - 1 / 3 - 1 / 6 - 1 / 3
    assert combine(terms, weights) == pytest.approx(by_hand)
    assert formula(weights).startswith("1·distinct2 + 1·relevance − 1·generic")


def test_bleu_counts_only_the_replies_that_have_references() -> None:
    with_pairs = measure(["hello there", "anything"], ["hello there"], ["hi", "probe"])
    assert with_pairs["bleu"] == pytest.approx(100)
    assert math.isnan(measure(["a b"], ["a b"], None)["copy"])


def test_a_bad_weight_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown objective term 'relevnce' \(known: bleu, "):
        parse_weights("relevnce=1")
    with pytest.raises(ValueError, match="'generic' is not NAME=NUMBER"):
        parse_weights("generic")
    with pytest.raises(ValueError, match="known: bleu, distinct2, relevance"):
        BotConfig.model_validate({"name": "x", "tune": {"weights": {"dull": -1}}})
    config = BotConfig.model_validate({"name": "x", "tune": {"weights": {"generic": -1}}})
    assert config.tune.weights == {"generic": -1.0}


@pytest.fixture(scope="module")
def dull(one_thread):
    return train_toy(IDK_PAIRS, steps=200, language_model=True)


def test_weights_decide_the_ranking_on_a_tiny_model(dull) -> None:
    model, tokenizer = dull
    prompts = ["do you like jazz", "how are you"]

    def replies(setting: Setting) -> list[str]:
        rescorers = [named(AntiLanguageModel(setting.antilm, setting.first_tokens), "antilm")]
        rows = decode(BeamSearch(beam_size=5), model, tokenizer, prompts, rescorers)
        return [tokenizer.decode(row[0].token_ids) for row in rows]

    settings = grid([0, 0.5], [3], [0])
    assert replies(settings[0]) == [GENERIC, GENERIC]
    combined = search(replies, [], settings, prompts=prompts, weights=WITHOUT_JUDGE)
    assert best_trial(combined).setting == Setting(0.5, 3, 0)
    assert combined[1].terms["generic"] == 0.5 < combined[0].terms["generic"] == 1.0
    dull_first = search(replies, [], settings, prompts=prompts, weights={"generic": 1.0})
    assert best_trial(dull_first).setting == Setting(0, 3, 0)


def tune(yaml_path: Path, tmp_path: Path, *options: str) -> int:
    probes = tmp_path / "probes.txt"
    probes.write_text("hi\nHow are you?\n\nwhat is your name ?\nbye\n", encoding="utf-8")
    outputs = ["--output", str(tmp_path / "best.yaml"), "--plot", str(tmp_path / "metric.png")]
    grid_options = ["--beam-size", "3", "--antilm", "0", "--n-bonus", "0,-8"]
    return main(["tune", str(yaml_path), "--prompts", str(probes), *grid_options, *outputs, *options])


def test_tune_ranks_probe_replies_by_the_weights(tiny_bot_yaml: Path, tmp_path: Path, capsys):
    weights = "short=-1,length=0.1"
    assert tune(tiny_bot_yaml, tmp_path, "--max-pairs", "0", "--weights", weights) == 0
    out = capsys.readouterr().out
    assert "metric = −1·short + 0.1·length" in out
    table = out[out.index("metric = "):].splitlines()
    assert table[1].split()[3:] == ["BLEU", "dist-2", "short", "length", "metric"]
    best = table[2].split()
    assert best[2] == "0.000" and best[3] == "n/a"  # γ 0 wins: a −8 bonus per word cuts replies
    assert float(best[-1]) == pytest.approx(-float(best[5]) + 0.1 * float(best[6]), abs=0.01)
    snippet = (tmp_path / "best.yaml").read_text()
    assert "on 4 dev prompts, metric = −1·short + 0.1·length" in snippet
    assert yaml.safe_load(snippet)["decoding"]["decoder"]["beam_size"] == 3

    assert tune(tiny_bot_yaml, tmp_path, "--max-pairs", "0", "--weights", "short=1") == 0
    best = capsys.readouterr().out.split("metric = ")[1].splitlines()[2].split()
    assert best[2] == "-8.000"


def test_bad_weight_names_and_unmeasurable_terms_are_one_line_errors(
    tiny_bot_yaml: Path, tmp_path: Path, capsys
) -> None:
    assert tune(tiny_bot_yaml, tmp_path, "--weights", "relevance=1,dullness=-1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown objective term 'dullness'" in err
    known = "bleu, distinct2, relevance, generic, broken, copy, greeting, farewell, short, length"
    assert f"known: {known}, format" in err
    assert tune(tiny_bot_yaml, tmp_path, "--max-pairs", "0") == 2  # BLEU alone, no references
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BLEU needs reference replies" in err
    assert tune(tiny_bot_yaml, tmp_path, "--weights", "generic=-1", "--distinct-weight", "1") == 2
    assert "not both" in capsys.readouterr().err
