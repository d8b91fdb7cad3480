"""Reinforcement learning: simulation, curriculum, the command, and a toy with a known optimum.

The toy: a third-party reward rule, installed as a real distribution with an entry point, pays 1
for replies containing "tea". A barely trained tiny model says "tea" in about 5% of its sampled
replies; a short RL run must raise that rate clearly, while an MLE-only control run (the same
command with ``mle_weight: 1``) must not.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from botframework import Bot
from botframework.cli import main
from botframework.config import ConfigError, load_definition
from botframework.config.schema import ReinforceConfig
from botframework.data.encoding import encode_source
from botframework.tensors import pad_sequences
from botframework.reinforce import simulate
from botframework.reinforce.run import build_task, reinforce
from botframework.reinforce.sampling import sample_tokens
from botframework.reinforce.task import curriculum_turns
from tests.conftest import TINY_PAIRS, install_plugin, write_bot_yaml, write_twitter_corpus

WORD_BONUS_SOURCE = '''
from botframework import hookimpl


class WordBonus:
    """Pays ``bonus`` for a reply that contains ``word``."""

    def __init__(self, word: str, bonus: float = 1.0) -> None:
        if not word:
            raise ValueError("word must be non-empty")
        self.word, self.bonus = word, bonus

    def __call__(self, ctx) -> float:
        return self.bonus if self.word in ctx.reply.split() else 0.0


@hookimpl
def register_reward_rules(register):
    register("word_bonus", WordBonus)
'''
TOY = [
    "rewards=[{name: word_bonus, word: tea, weight: 1.0}]",
    "reinforce.batch_size=16",
    "reinforce.learning_rate=0.01",
    "reinforce.min_turns=1",
    "reinforce.max_turns=1",
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def weak_bot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny bot trained for 10 steps only, so its samples still vary; (YAML, checkpoint)."""
    directory = tmp_path_factory.mktemp("weak_bot")
    write_twitter_corpus(directory / "corpus.txt")
    path = write_bot_yaml(directory, name="weak")
    assert main(["train", str(path), "--no-progress", "--set", "training.max_steps=10"]) == 0
    return path, next((directory / "works/weak/checkpoints").glob("step-*.safetensors"))


@pytest.fixture
def word_bonus_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The reward plugin as a real distribution on sys.path, entry point in group 'botframework'."""
    install_plugin(tmp_path, "word_bonus_plugin", WORD_BONUS_SOURCE, "word_bonus")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("word_bonus_plugin", None)


def word_rate(yaml: Path, checkpoint: Path, word: str = "tea", samples: int = 10) -> float:
    """The share of sampled replies to every corpus prompt that contain ``word``."""
    bot = Bot.load(yaml, checkpoint=checkpoint)
    torch.manual_seed(0)
    sources = [encode_source(bot.tokenizer, [p], 40) for p, _ in TINY_PAIRS] * samples
    ids, _ = sample_tokens(bot.model, *pad_sequences(sources), bos_id=1, eos_id=2, max_length=12)
    return sum(word in bot.tokenizer.decode(row).split() for row in ids) / len(ids)


def logged(workspace: Path) -> list[dict[str, str]]:
    with open(next((workspace / "logs/reinforce").glob("version_*/metrics.csv"))) as handle:
        return list(csv.DictReader(handle))


def test_rl_learns_to_say_the_rewarded_word_and_mle_and_a_kl_guard_hold_it_back(
    weak_bot: tuple[Path, Path], word_bonus_installed: None, tmp_path: Path
) -> None:
    yaml, start = weak_bot
    before = word_rate(yaml, start)
    runs = {}
    # The KL-guarded optimum is p_start(reply) * exp(reward / kl_weight), renormalised: with a
    # reward of 1 and kl_weight 1, a 5% rate can rise to about 12% at most.
    settings = {"rl": (0.0, 0.0), "mle": (1.0, 0.0), "kl": (0.0, 1.0)}
    for kind, (mle_weight, kl_weight) in settings.items():
        workspace = tmp_path / kind
        overrides = [*TOY, f"workspace={workspace}", f"reinforce.mle_weight={mle_weight}"]
        overrides.append(f"reinforce.kl_weight={kl_weight}")
        runs[kind] = reinforce(yaml, overrides, start, steps=30, progress_bar=False)
        assert runs[kind] == workspace / "checkpoints/rl-step-00000030.safetensors"
    after = {kind: word_rate(yaml, path) for kind, path in runs.items()}
    assert before < 0.15
    assert after["rl"] > before + 0.4, (before, after)
    assert after["mle"] < before + 0.1, (before, after)
    assert after["kl"] < before + 0.2, (before, after)
    rows = [r for r in logged(tmp_path / "rl") if r.get("reward/word_bonus")]
    values = [float(r["reward/word_bonus"]) for r in rows]
    assert len(values) >= 3 and values[-1] > values[0]
    assert {"reward", "turns", "loss_pg", "loss_value", "kl"} <= set(rows[0])
    divergence = [float(r["kl"]) for r in rows]
    assert divergence[-1] > 0.5, divergence  # the unguarded policy moved away from its start


def test_reinforce_command_writes_a_checkpoint_chat_and_test_can_use(
    weak_bot: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml, start = weak_bot
    workspace = tmp_path / "ws"
    rewards = (
        "rewards=[{name: ease_of_answering, weight: 0.25}, {name: information_flow, weight: 0.25},"
        " {name: semantic_coherence, weight: 0.5, backward: false}]"
    )
    args = ["reinforce", str(yaml), "--steps", "2", "--no-progress", "--checkpoint", str(start)]
    args += ["--set", f"workspace={workspace}", "--set", rewards, "--set", "reinforce.baseline=mean"]
    assert main(args) == 0
    written = workspace / "checkpoints/rl-step-00000002.safetensors"
    assert f"reinforced model saved to {written}" in capsys.readouterr().out
    header = set(logged(workspace)[0])
    assert {"reward/ease_of_answering", "reward/information_flow", "reward/semantic_coherence"} <= header
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("hi\n")
    assert main(["test", str(yaml), "--checkpoint", str(written), "--input", str(prompts)]) == 0
    assert Bot.load(yaml, [f"workspace={workspace}"]).checkpoint.path == written


def test_default_rules_need_a_backward_model(weak_bot: tuple[Path, Path], tmp_path: Path) -> None:
    yaml, start = weak_bot
    with pytest.raises(ConfigError, match="'semantic_coherence' needs the model.s. reverse.*--reverse"):
        reinforce(yaml, [f"workspace={tmp_path}"], start, steps=1, progress_bar=False)


def test_no_mle_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_twitter_corpus(tmp_path / "corpus.txt")
    yaml = write_bot_yaml(tmp_path, name="untrained")
    assert main(["reinforce", str(yaml), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "no MLE checkpoint to start reinforcement learning from" in error
    assert f"run `botframework train {yaml}` first" in error


def test_curriculum_grows_dialogues_from_two_to_five_turns() -> None:
    settings = ReinforceConfig(min_turns=2, max_turns=5, turns_every=10)
    assert [curriculum_turns(settings, s) for s in (0, 9, 10, 25, 30, 1000)] == [2, 2, 3, 4, 5, 5]


@dataclass
class Said:
    text: str


def scripted(replies: dict[str, str]):
    def respond(dialogues: list[list[str]]) -> list[Said]:
        return [Said(replies.get(d[-1], "something new " + str(len(d)))) for d in dialogues]

    return respond


def test_simulation_ends_on_dull_replies_and_self_repetition() -> None:
    respond = scripted(
        {"q": "a one", "a one": "i don't know .", "x": "we sail at dawn", "we sail at dawn": "ok then",
         "ok then": "we sail at dawn !"}
    )
    dull = ReinforceConfig().dull_replies
    dull_end, repeated, capped = simulate(respond, [["q"], ["x"], ["z"]], 5, dull, 0.8)
    assert (dull_end.texts, dull_end.ended_by, dull_end.length) == (["a one", "i don't know ."], "dull", 1)
    assert repeated.ended_by == "repetition" and repeated.length == 2
    assert capped.ended_by is None and capped.length == 5
    assert capped.steps()[1] == (["z", "something new 1"], capped.turns[1])


def test_a_turn_that_ends_its_dialogue_early_pays_the_ending_penalty(
    weak_bot: tuple[Path, Path],
) -> None:
    yaml, start = weak_bot
    rule = ["rewards=[{name: ease_of_answering, weight: 1.0}]"]
    bot = Bot.load(yaml, rule, checkpoint=start)
    respond = scripted({"q": "a one", "a one": "i don't know ."})
    dialogues = simulate(respond, [["q"], ["z"]], 3, bot.config.reinforce.dull_replies, 0.8)
    rewards = {}
    for penalty in (0.0, 2.5):
        settings = bot.config.reinforce.model_copy(update={"ending_penalty": penalty})
        rewards[penalty] = [action.reward for action in build_task(bot, settings).score(dialogues)]
    plain, penalised = rewards[0.0], rewards[2.5]
    assert len(plain) == 2 + 3  # the dull-ended dialogue's two turns, the capped one's three
    assert penalised[1] == pytest.approx(plain[1] - 2.5)  # "i don't know ." ended its dialogue
    assert penalised[0] == plain[0] and penalised[2:] == plain[2:]


def test_rules_see_every_turn_of_the_batch(weak_bot: tuple[Path, Path]) -> None:
    yaml, start = weak_bot
    rule = ["rewards=[{name: batch_rarity, weight: 1.0, first_words: 2}]"]
    bot = Bot.load(yaml, rule, checkpoint=start)
    respond = scripted({"q": "a one", "a one": "i don't know ."})
    dialogues = simulate(respond, [["q"], ["z"]], 3, bot.config.reinforce.dull_replies, 0.8)
    settings = bot.config.reinforce.model_copy(update={"ending_penalty": 0.0})
    rewards = [action.reward for action in build_task(bot, settings).score(dialogues)]
    # 5 turns: "a one", "i don't know ." and three "something new N": 1 - 1/5 twice, 1 - 3/5 thrice
    assert rewards == pytest.approx([0.8, 0.8, 0.4, 0.4, 0.4])


def test_turn_bounds_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("reinforce:\n  min_turns: 6\n")
    with pytest.raises(ConfigError, match=r"min_turns \(6\) must not exceed max_turns \(5\)"):
        load_definition(path)


def test_sequence_entropy_is_the_summed_entropy_of_each_next_token_softmax(
    weak_bot: tuple[Path, Path],
) -> None:
    yaml, start = weak_bot
    model = Bot.load(yaml, checkpoint=start).model
    sources = pad_sequences([[5, 6, 7], [8, 9]])
    targets = pad_sequences([[10, 11, 2], [12, 2]])
    log_probs, entropies = model.sequence_log_probs_and_entropy(*sources, *targets)
    with torch.no_grad():
        assert torch.allclose(log_probs, model.sequence_log_probs(*sources, *targets), atol=1e-5)
        for row, length in enumerate(targets[1].tolist()):
            target = targets[0][row : row + 1, :length]
            target_in = torch.cat([torch.tensor([[model.bos_id]]), target[:, :-1]], dim=1)
            features = model.features(sources[0][row : row + 1], sources[1][row : row + 1], target_in)
            expected = 0.0
            for position in range(length):  # H = -sum_w p(w) log p(w), one position at a time
                p = torch.softmax(model.output(features[0, position]), dim=-1)
                expected += float(-(p * p.log()).sum())
            assert entropies[row].item() == pytest.approx(expected, rel=1e-4)


def test_an_entropy_bonus_keeps_the_policy_spread_out(
    weak_bot: tuple[Path, Path], word_bonus_installed: None, tmp_path: Path
) -> None:
    yaml, start = weak_bot
    entropy = {}
    for weight in (0.0, 1.0):
        workspace = tmp_path / f"entropy-{weight}"
        overrides = [*TOY, f"workspace={workspace}", "reinforce.mle_weight=0"]
        overrides.append(f"reinforce.entropy_weight={weight}")
        reinforce(yaml, overrides, start, steps=30, progress_bar=False)
        rows = [r for r in logged(workspace) if r.get("entropy")]
        entropy[weight] = [float(r["entropy"]) for r in rows]
    without, with_bonus = entropy[0.0], entropy[1.0]  # logged every 10 steps
    assert without[-1] < without[0] - 1.0, without  # chasing the reward sharpens the policy ...
    assert with_bonus[-1] > with_bonus[0] - 0.1, with_bonus  # ... the bonus keeps it spread out
    assert with_bonus[-1] > without[-1] + 1.0, (without, with_bonus)
