"""The search behind ``botframework tune``: decoding settings tried on dev pairs, scored, shown.

A :class:`Setting` is an anti-LM weight λ, its cut-off g and a length bonus γ. Each one tried
decodes the dev prompts; :func:`measure` takes every term of
:data:`~botframework.config.objective.TERMS` on the replies, and the metric is the weighted sum
of the terms (:func:`~botframework.config.objective.combine`): by default corpus BLEU
(:func:`~botframework.evaluation.bleu.corpus_bleu`), optionally plus a weight × 100 × distinct-2.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import yaml

from botframework.config.schema import BotConfig
from botframework.decoding.settings import set_decoding
from botframework.evaluation.bleu import corpus_bleu
from botframework.config.objective import BLEU_ONLY, SHORT_WORDS, active, combine, formula
from botframework.evaluation.relevance import Embedder, relevance
from botframework.evaluation.reply_quality import (
    average_words,
    broken_rate,
    copy_rate,
    default_generic_rate,
    farewell_rate,
    format_rate,
    greeting_rate,
)
from botframework.text import distinct_n, words


#: Terms every table shows, weighted or not, and the short headings of some.
BLEU_ROWS = ("bleu", "distinct2")
HEADINGS = {
    "bleu": "BLEU",
    "distinct2": "dist-2",
    "relevance": "relev.",
    "greeting": "greet.",
    "farewell": "farew.",
}


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
    terms: Mapping[str, float] = field(default_factory=dict)


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
    *,
    prompts: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    embed: Embedder | None = None,
) -> list[Trial]:
    """Decode the dev prompts with every setting and score the replies: the first
    ``len(references)`` against ``references`` (``bleu_tokenize`` is sacrebleu's tokenizer for
    them), all of them against ``prompts`` (relevance with ``embed``) and each other. The metric
    is the ``weights``' objective, BLEU + ``distinct_weight`` × 100 × distinct-2 without them."""
    weights = weights or {"bleu": 1.0, "distinct2": 100 * distinct_weight}
    trials = []
    for index, setting in enumerate(settings, 1):
        replies = decode(setting)
        terms = measure(replies, references, prompts, bleu_tokenize, embed)
        metric = combine(terms, weights)
        trials.append(Trial(setting, terms["bleu"], terms["distinct2"], metric, terms))
        if progress:
            progress(f"[{index}/{len(settings)}] {describe(trials[-1], weights)}")
    return trials


def measure(
    replies: list[str],
    references: Sequence[str],
    prompts: Sequence[str] | None,
    bleu_tokenize: str = "13a",
    embed: Embedder | None = None,
) -> dict[str, float]:
    """Every objective term of ``replies`` by name; NaN (n/a) for BLEU without references and
    for copy and relevance without prompts (relevance also without ``embed``)."""
    scored = replies[: len(references)]
    return {
        "bleu": corpus_bleu(scored, list(references), bleu_tokenize) if references else math.nan,
        "distinct2": distinct_n(replies, 2),
        "relevance": relevance(prompts, replies, embed) if prompts and embed else math.nan,
        "generic": default_generic_rate(replies),
        "broken": broken_rate(replies),
        "copy": copy_rate(prompts, replies) if prompts is not None else math.nan,
        "greeting": greeting_rate(prompts, replies) if prompts is not None else math.nan,
        "farewell": farewell_rate(prompts, replies) if prompts is not None else math.nan,
        "short": short_rate(replies),
        "length": average_words(replies),
        "format": format_rate(replies),
    }


def short_rate(replies: Sequence[str]) -> float:
    """The share of ``replies`` of fewer than :data:`SHORT_WORDS` words; 0 for none."""
    short = [len(words(reply)) < SHORT_WORDS for reply in replies]
    return sum(short) / len(short) if short else 0.0


def shown_terms(weights: Mapping[str, float]) -> list[str]:
    """The terms a table shows: BLEU and distinct-2 always, then every weighted one."""
    return ["bleu", "distinct2", *(name for name in active(weights) if name not in BLEU_ROWS)]


def _value(trial: Trial, name: str) -> float:
    return trial.terms.get(name, getattr(trial, name, math.nan))


def _cell(value: float, name: str, width: int = 7) -> str:
    if math.isnan(value):
        return f"{'n/a':>{width}}"
    return f"{value:{width}.2f}" if name in ("bleu", "length") else f"{value:{width}.3f}"


def describe(trial: Trial, weights: Mapping[str, float] | None = None) -> str:
    s = trial.setting
    shown = shown_terms(weights or {})
    values = ", ".join(
        f"{HEADINGS.get(name, name)} {_cell(_value(trial, name), name, 0).strip()}"
        for name in shown
    )
    return (
        f"λ={s.antilm:g} g={s.first_tokens} γ={s.length_bonus:g}: {values}, "
        f"metric {trial.metric:.2f}"
    )


def format_table(trials: list[Trial], weights: Mapping[str, float] | None = None) -> str:
    """The trials, best first: the setting, each shown term, the metric; the objective above."""
    shown = shown_terms(weights or {})
    heading = "".join(f" {HEADINGS.get(name, name):>7}" for name in shown)
    rows = [f"metric = {formula(weights or BLEU_ONLY)}"]
    rows.append(f"{'λ':>6} {'g':>3} {'γ':>6}{heading} {'metric':>7}")
    for trial in sorted(trials, key=_rank, reverse=True):
        s = trial.setting
        cells = "".join(" " + _cell(_value(trial, name), name) for name in shown)
        rows.append(
            f"{s.antilm:6.3f} {s.first_tokens:3d} {s.length_bonus:6.3f}{cells} {trial.metric:7.2f}"
        )
    return "\n".join(rows)


def _rank(trial: Trial) -> float:
    return -math.inf if math.isnan(trial.metric) else trial.metric


def best_trial(trials: Sequence[Trial]) -> Trial:
    """The trial of the highest metric (a NaN metric never wins)."""
    return max(trials, key=_rank)


def best_snippet(
    config: BotConfig,
    best: Trial,
    beam_size: int,
    pairs: int,
    weights: Mapping[str, float] | None = None,
) -> str:
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
        f"# botframework tune: best of the tried settings on {pairs} dev prompts, "
        f"metric = {formula(weights or BLEU_ONLY)}:\n# {describe(best, weights)}\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def plot(trials: list[Trial], path: Path, weights: Mapping[str, float] | None = None) -> None:
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
    axes.set_ylabel(f"metric = {formula(weights or BLEU_ONLY)}")
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
