"""`botframework tune`: the metric, the search, the YAML snippet and the plot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.rescorers.antilm import AntiLanguageModel
from botframework_plugins.rescorers.length_bonus import LengthBonus

from botframework.cli.tune import read_pairs
from botframework.evaluation.bleu import corpus_bleu
from botframework.text import distinct_n
from botframework.evaluation.tuning import (
    Setting,
    Trial,
    best_snippet,
    grid,
    plot,
    random_settings,
    search,
)
from botframework.config.schema import BotConfig
from tests.test_beam import decode, named, train_toy  # noqa: F401
from tests.test_rescorers import GENERIC, IDK_PAIRS

pytestmark = pytest.mark.usefixtures("one_thread")


def test_smoothed_corpus_bleu_is_not_zero_on_short_replies() -> None:
    references = ["hello there friend", "i am fine thanks"]
    assert corpus_bleu(["hello there", "i am fine"], references) > 50
    assert (
        0
        < corpus_bleu([GENERIC, GENERIC], references)
        < corpus_bleu(["hello there", "i am fine"], references)
    )
    assert corpus_bleu(references, references) == pytest.approx(100)


def test_distinct_2() -> None:
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n([GENERIC] * 4, 2) == pytest.approx(2 / 8)
    assert distinct_n(["a", ""], 2) == 0.0


def test_grid_tries_g_once_without_anti_lm_and_random_search_stays_in_range() -> None:
    settings = grid([0, 0.5], [1, 3], [0, 1])
    assert len(settings) == 2 + 4
    assert {s.first_tokens for s in settings if s.antilm == 0} == {1}
    drawn = random_settings(20, [0, 0.5], [2, 4], [-1, 1], seed=3)
    assert drawn == random_settings(20, [0, 0.5], [2, 4], [-1, 1], seed=3)
    assert all(
        0 <= s.antilm <= 0.5 and s.first_tokens in (2, 4) and -1 <= s.length_bonus <= 1
        for s in drawn
    )


@pytest.fixture(scope="module")
def dull(one_thread):
    return train_toy(IDK_PAIRS, steps=200, language_model=True)


def test_search_finds_the_anti_lm_weight_that_fixes_generic_replies(dull, tmp_path: Path) -> None:
    model, tokenizer = dull
    prompts, references = ["do you like jazz", "how are you"], ["yes i love jazz", GENERIC]

    def replies(setting: Setting) -> list[str]:
        rescorers = [
            named(AntiLanguageModel(setting.antilm, setting.first_tokens), "antilm"),
            named(LengthBonus(setting.length_bonus), "length_bonus"),
        ]
        rows = decode(BeamSearch(beam_size=5), model, tokenizer, prompts, rescorers)
        return [tokenizer.decode(row[0].token_ids) for row in rows]

    seen: list[str] = []
    trials = search(
        replies, references, grid([0, 0.5], [3], [0]), distinct_weight=0.5, progress=seen.append
    )
    assert len(seen) == 2 and "λ=0.5 g=3" in seen[1]
    best = max(trials, key=lambda t: t.metric)
    assert best.setting == Setting(0.5, 3, 0)
    assert best.bleu == pytest.approx(100)
    assert best.metric == pytest.approx(best.bleu + 0.5 * 100 * best.distinct2)

    snippet = best_snippet(BotConfig(name="toy"), best, beam_size=5, pairs=2)
    assert snippet.startswith("# botframework tune")
    decoding = yaml.safe_load(snippet)["decoding"]
    assert decoding["decoder"] == {"name": "beam", "beam_size": 5}
    assert decoding["rescorers"] == [{"name": "antilm", "weight": 0.5, "first_tokens": 3}]
    BotConfig.model_validate({"name": "toy", "decoding": decoding})  # pastes into a bot YAML

    picture = tmp_path / "tune" / "metric.png"
    plot(trials, picture)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_several_lines(tmp_path: Path) -> None:
    trials = [
        Trial(Setting(a, g, b), bleu=10 + a * g - b, distinct2=0.1, metric=10 + a * g - b)
        for a, g, b in [(0, 1, 0), (0, 1, 1), (0.2, 1, 0), (0.4, 1, 0), (0.2, 3, 1), (0.4, 3, 1)]
    ]
    plot(trials, tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000


def test_read_pairs(tmp_path: Path) -> None:
    path = tmp_path / "dev.txt"
    path.write_text("hi\nhello there\nbye\nsee you\n", encoding="utf-8")
    assert [(p.prompt, p.reply) for p in read_pairs(path)] == [
        ("hi", "hello there"),
        ("bye", "see you"),
    ]
    path.write_text("hi\n", encoding="utf-8")
    from botframework.data.corpus import CorpusError

    with pytest.raises(CorpusError, match="expected prompt and reply lines in pairs, got 1 lines"):
        read_pairs(path)


def test_tune_command_end_to_end(tiny_bot_yaml: Path, tmp_path: Path, capsys) -> None:
    from botframework.cli import main
    from tests.conftest import TINY_PAIRS

    pairs = tmp_path / "dev.txt"
    pairs.write_text("".join(f"{p}\n{r}\n" for p, r in TINY_PAIRS[:6]), encoding="utf-8")
    output, picture = tmp_path / "best.yaml", tmp_path / "metric.png"
    code = main(
        [
            "tune",
            str(tiny_bot_yaml),
            "--pairs",
            str(pairs),
            "--beam-size",
            "3",
            "--antilm",
            "0,0.3",
            "--first-tokens",
            "2",
            "--n-bonus",
            "0",
            "--output",
            str(output),
            "--plot",
            str(picture),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "BLEU" in out and "best: λ=" in out
    assert yaml.safe_load(output.read_text())["decoding"]["decoder"]["beam_size"] == 3
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_chinese_replies_are_scored_by_word_with_the_jieba_tokenizer() -> None:
    from botframework_plugins.tokenizers.jieba_words import JiebaTokenizer
    from botframework_plugins.tokenizers.word import WordTokenizer


    assert JiebaTokenizer().bleu_tokenize == "zh" and WordTokenizer().bleu_tokenize == "13a"
    settings = [Setting(0, 1, 0)]
    [plain] = search(lambda setting: ["我很好"], ["我很好啊"], settings)
    [chinese] = search(lambda setting: ["我很好"], ["我很好啊"], settings, bleu_tokenize="zh")
    assert plain.bleu == 0 < chinese.bleu
