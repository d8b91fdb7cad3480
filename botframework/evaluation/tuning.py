"""The search behind ``botframework tune``: decoding settings tried on dev pairs, scored, shown.

A :class:`Setting` is an anti-LM weight λ, its cut-off g and a length bonus γ. Each one tried
decodes the dev prompts and is scored by corpus BLEU
(:func:`~botframework.evaluation.bleu.corpus_bleu`), optionally plus a weight × 100 × distinct-2.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import yaml

from botframework.config.schema import BotConfig
from botframework.decoding.settings import set_decoding
from botframework.evaluation.bleu import corpus_bleu
from botframework.text import distinct_n


@dataclass(frozen=True)
class Setting:
    antilm: float
    first_tokens: int
    length_bonus: float


@dataclass(frozen=True)
class Trial:
    setting: Setting
    bleu: float
    distinct2: float
    metric: float


def grid(
    antilm: Sequence[float], first_tokens: Sequence[int], bonus: Sequence[float]
) -> list[Setting]:
    """Every combination; with λ = 0 the cut-off g does not matter, so it is tried once."""
    settings = {
        Setting(a, g if a else min(first_tokens), b)
        for a, g, b in product(antilm, first_tokens, bonus)
    }
    return sorted(settings, key=lambda s: (s.length_bonus, s.first_tokens, s.antilm))


def random_settings(
    count: int,
    antilm: Sequence[float],
    first_tokens: Sequence[int],
    bonus: Sequence[float],
    seed: int,
) -> list[Setting]:
    """``count`` settings drawn uniformly from the ranges the lists span (g from the list)."""
    draw = random.Random(seed)
    return [
        Setting(
            round(draw.uniform(min(antilm), max(antilm)), 3),
            draw.choice(list(first_tokens)),
            round(draw.uniform(min(bonus), max(bonus)), 3),
        )
        for _ in range(count)
    ]


def tuned_config(config: BotConfig, setting: Setting, beam_size: int) -> BotConfig:
    """``config`` with ``beam_size`` beams and the anti-LM and length bonus of ``setting``."""
    first_tokens = setting.first_tokens if setting.antilm else None
    return set_decoding(config, beam_size, setting.antilm, first_tokens, setting.length_bonus)


def search(
    decode: Callable[[Setting], list[str]],
    references: list[str],
    settings: Sequence[Setting],
    distinct_weight: float = 0.0,
    progress: Callable[[str], object] | None = None,
    bleu_tokenize: str = "13a",
) -> list[Trial]:
    """Decode the dev prompts with every setting and score the replies against ``references``
    (``bleu_tokenize`` is sacrebleu's tokenizer for them)."""
    trials = []
    for index, setting in enumerate(settings, 1):
        replies = decode(setting)
        bleu = corpus_bleu(replies, references, bleu_tokenize)
        distinct2 = distinct_n(replies, 2)
        trials.append(Trial(setting, bleu, distinct2, bleu + distinct_weight * 100 * distinct2))
        if progress:
            progress(f"[{index}/{len(settings)}] {describe(trials[-1])}")
    return trials


def describe(trial: Trial) -> str:
    s = trial.setting
    return (
        f"λ={s.antilm:g} g={s.first_tokens} γ={s.length_bonus:g}: BLEU {trial.bleu:.2f}, "
        f"distinct-2 {trial.distinct2:.3f}, metric {trial.metric:.2f}"
    )


def format_table(trials: list[Trial]) -> str:
    rows = [f"{'λ':>6} {'g':>3} {'γ':>6} {'BLEU':>7} {'dist-2':>7} {'metric':>7}"]
    for trial in sorted(trials, key=lambda t: t.metric, reverse=True):
        s = trial.setting
        rows.append(
            f"{s.antilm:6.3f} {s.first_tokens:3d} {s.length_bonus:6.3f} "
            f"{trial.bleu:7.2f} {trial.distinct2:7.3f} {trial.metric:7.2f}"
        )
    return "\n".join(rows)


def best_snippet(config: BotConfig, best: Trial, beam_size: int, pairs: int) -> str:
    """The ``decoding`` section with the best setting, as YAML to paste into the bot file."""
    section = tuned_config(config, best.setting, beam_size).decoding
    rescorers = [{"name": entry.name, **entry.args} for entry in section.rescorers]
    data = {
        "decoding": {
            "decoder": {"name": section.decoder.name, **section.decoder.args},
            "max_length": section.max_length,
            "rescorers": rescorers,
        }
    }
    header = (
        f"# botframework tune: best of the tried settings on {pairs} dev pairs: "
        f"BLEU {best.bleu:.2f}, distinct-2 {best.distinct2:.3f}\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def plot(trials: list[Trial], path: Path) -> None:
    """The metric against λ, one line per (g, γ); λ = 0 (no anti-LM) starts every line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4.5))
    lines = plot_lines(trials)
    for (g, bonus), line in sorted(lines.items()):
        axes.plot(
            [t.setting.antilm for t in line],
            [t.metric for t in line],
            marker="o",
            label=f"g={g}, γ={bonus:g}",
        )
    axes.set_xlabel("anti-LM weight λ")
    axes.set_ylabel(
        "metric (corpus BLEU"
        + (" + distinct-2)" if any(t.metric != t.bleu for t in trials) else ")")
    )
    axes.set_title("botframework tune")
    axes.grid(True, alpha=0.3)
    if lines:
        axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_lines(trials: list[Trial]) -> dict[tuple[int, float], list[Trial]]:
    """The trials of each (g, γ) by λ; a λ = 0 trial starts every line of its γ."""
    lines: dict[tuple[int, float], list[Trial]] = {}
    for trial in trials:
        if trial.setting.antilm:
            key = (trial.setting.first_tokens, trial.setting.length_bonus)
            lines.setdefault(key, []).append(trial)
    for trial in trials:
        if not trial.setting.antilm:  # g does not matter then
            bonus = trial.setting.length_bonus
            for key in [key for key in lines if key[1] == bonus] or [(0, bonus)]:
                lines.setdefault(key, []).append(trial)
    for line in lines.values():
        line.sort(key=lambda t: t.setting.antilm)
    return lines
