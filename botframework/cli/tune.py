"""``botframework tune``: search the anti-LM weight λ, its cut-off g and the length bonus γ.

Each setting decodes the held-out dev pairs (the bot's validation split, or ``--pairs``) and is
scored by corpus BLEU (sacrebleu, with add-one smoothing of the higher-order n-gram counts, which
keeps it above zero on short chat replies), optionally plus --distinct-weight × 100 × distinct-2.
The table of tried settings is printed, the best is written as a YAML snippet for the bot's
``decoding`` section, and the metric is plotted against λ (one line per g and γ).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import yaml

from botframework.decoding.settings import set_decoding
from botframework.cli.errors import input_path
from botframework.cli.options import add_bot_options, load_bot
from botframework.config.schema import BotConfig
from botframework.data.corpus import CorpusError, Pair

BATCH_SIZE = 32


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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="search the anti-LM weight, its cut-off and the length bonus on held-out pairs",
        description=__doc__.split("\n\n", 1)[1],
    )
    add_bot_options(parser)
    parser.add_argument(
        "--pairs",
        metavar="FILE",
        help="dev pairs in the twitter format (prompt line, reply line); "
        "default: the bot's validation split",
    )
    parser.add_argument("--max-pairs", type=int, default=200, help="dev pairs used (default 200)")
    parser.add_argument("--beam-size", type=int, default=10, help="beams while tuning (default 10)")
    parser.add_argument(
        "--antilm",
        type=_numbers,
        default="0,0.1,0.2,0.3,0.4,0.5",
        metavar="LIST",
        help="λ values (comma-separated)",
    )
    parser.add_argument(
        "--first-tokens", type=_numbers, default="1,2,3,5", metavar="LIST", help="g values"
    )
    parser.add_argument(
        "--n-bonus", type=_numbers, default="0,0.5,1", metavar="LIST", help="γ values"
    )
    parser.add_argument(
        "--random",
        type=int,
        metavar="N",
        help="random search: N settings drawn from the lists' ranges instead of the grid",
    )
    parser.add_argument("--seed", type=int, default=0, help="random search seed")
    parser.add_argument(
        "--distinct-weight",
        type=float,
        default=0.0,
        metavar="W",
        help="metric = BLEU + W × 100 × distinct-2 (default 0: BLEU alone)",
    )
    parser.add_argument("--output", metavar="YAML", help="default: WORKSPACE/tune/best.yaml")
    parser.add_argument("--plot", metavar="PNG", help="default: WORKSPACE/tune/metric.png")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    pairs_file = input_path("--pairs", args.pairs) if args.pairs else None
    bot = load_bot(args)
    pairs = (read_pairs(pairs_file) if pairs_file else validation_pairs(bot))[
        : args.max_pairs
    ]
    if not pairs:
        raise CorpusError("no dev pairs: the bot has no validation split; pass --pairs FILE")
    first_tokens = [int(g) for g in args.first_tokens]
    if args.random:
        settings = random_settings(args.random, args.antilm, first_tokens, args.n_bonus, args.seed)
    else:
        settings = grid(args.antilm, first_tokens, args.n_bonus)
    references = [bot.tokenizer.normalize(pair.reply) for pair in pairs]

    def decode(setting: Setting) -> list[str]:
        config = set_decoding(
            bot.config,
            args.beam_size,
            setting.antilm or 0.0,
            setting.first_tokens if setting.antilm else None,
            setting.length_bonus,
        )
        decoding = bot.build_decoding(config)
        dialogues = [list(pair.context) for pair in pairs]
        replies = []
        for start in range(0, len(dialogues), BATCH_SIZE):
            batch = bot.generate(dialogues[start : start + BATCH_SIZE], decoding)
            replies.extend(row[0].text if row else "" for row in batch)
        return replies

    trials = search(decode, references, settings, args.distinct_weight, progress=print)
    print(format_table(trials))
    workspace = bot.definition.workspace / "tune"
    output = Path(args.output) if args.output else workspace / "best.yaml"
    picture = Path(args.plot) if args.plot else workspace / "metric.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    best = max(trials, key=lambda t: t.metric)
    output.write_text(best_snippet(bot.config, best, args.beam_size, len(pairs)), encoding="utf-8")
    plot(trials, picture)
    print(
        f"best: λ={best.setting.antilm} g={best.setting.first_tokens} γ={best.setting.length_bonus}"
        f" (BLEU {best.bleu:.2f}, distinct-2 {best.distinct2:.3f}); "
        f"written to {output}; plot {picture}"
    )
    return 0


def validation_pairs(bot) -> list[Pair]:
    """The bot's held-out pairs: the same split its model was trained without."""
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import read_conversations

    conversations = read_conversations(bot.definition, bot.parts)
    return DialogueDataModule(bot.trained_config, bot.tokenizer, conversations).val_pairs


def read_pairs(path: Path) -> list[Pair]:
    """Twitter-format pairs: odd lines prompts, even lines their replies."""
    lines = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
    if len(lines) % 2:
        raise CorpusError(
            f"{path}: expected prompt and reply lines in pairs, got {len(lines)} lines"
        )
    return [Pair((lines[i],), lines[i + 1]) for i in range(0, len(lines), 2)]


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


def search(
    decode: Callable[[Setting], list[str]],
    references: list[str],
    settings: Sequence[Setting],
    distinct_weight: float = 0.0,
    progress: Callable[[str], object] | None = None,
) -> list[Trial]:
    """Decode the dev prompts with every setting and score the replies against ``references``."""
    trials = []
    for index, setting in enumerate(settings, 1):
        replies = decode(setting)
        bleu, distinct2 = corpus_bleu(replies, references), distinct_n(replies, 2)
        trials.append(Trial(setting, bleu, distinct2, bleu + distinct_weight * 100 * distinct2))
        if progress:
            progress(f"[{index}/{len(settings)}] {_describe(trials[-1])}")
    return trials


def corpus_bleu(replies: list[str], references: list[str]) -> float:
    """Corpus BLEU (0-100) with add-one smoothing of the 2- to 4-gram counts."""
    from sacrebleu.metrics import BLEU

    return float(
        BLEU(smooth_method="add-k", smooth_value=1).corpus_score(replies, [references]).score
    )


def distinct_n(replies: list[str], n: int = 2) -> float:
    """Distinct n-grams over all replies / n-grams generated (0 when there are none)."""
    grams = [
        tuple(words[i : i + n])
        for words in (r.split() for r in replies)
        for i in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


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
    s = best.setting
    tuned = set_decoding(
        config, beam_size, s.antilm, s.first_tokens if s.antilm else None, s.length_bonus
    )
    section = tuned.decoding
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
    lines: dict[tuple[int, float], list[Trial]] = {}
    for trial in trials:
        if trial.setting.antilm:
            key = (trial.setting.first_tokens, trial.setting.length_bonus)
            lines.setdefault(key, []).append(trial)
    for trial in trials:
        if not trial.setting.antilm:  # g does not matter then: the point starts every line of its γ
            bonus = trial.setting.length_bonus
            for key in [key for key in lines if key[1] == bonus] or [(0, bonus)]:
                lines.setdefault(key, []).append(trial)
    for (g, bonus), line in sorted(lines.items()):
        line.sort(key=lambda t: t.setting.antilm)
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


def _describe(trial: Trial) -> str:
    s = trial.setting
    return (
        f"λ={s.antilm:g} g={s.first_tokens} γ={s.length_bonus:g}: BLEU {trial.bleu:.2f}, "
        f"distinct-2 {trial.distinct2:.3f}, metric {trial.metric:.2f}"
    )


def _numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values
