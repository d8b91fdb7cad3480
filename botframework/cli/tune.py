"""``botframework tune``: search the anti-LM weight λ, its cut-off g and the length bonus γ.

Each setting decodes the held-out dev pairs (the bot's validation split, or ``--pairs``) and any
probe prompts (``--prompts``, one per line, no replies) and is scored by an objective: a weighted
sum of terms (relevance, distinct2, generic, broken, copy, short, length, format, bleu) from
--weights or the YAML's tune.weights; without either, by corpus BLEU (sacrebleu, with add-one
smoothing of the higher-order n-gram counts, which keeps it above zero on short chat replies),
optionally plus --distinct-weight × 100 × distinct-2. The table of tried settings is printed with
every weighted term, the best is written as a YAML snippet for the bot's ``decoding`` section, and
the metric is plotted against λ (one line per g and γ).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from botframework.cli.errors import CommandError, input_path
from botframework.cli.options import add_bot_options, load_bot
from botframework.config.loader import load_definition
from botframework.config.schema import BotConfig
from botframework.data.corpus import CorpusError, Pair
from botframework.config.objective import BLEU_ONLY, TERMS, active, parse_weights
from botframework.evaluation.relevance import (
    MISSING_JUDGE,
    Embedder,
    judge_available,
    sentence_embedder,
)
from botframework.evaluation.tuning import (
    Setting,
    Trial,
    best_snippet,
    best_trial,
    describe,
    format_table,
    grid,
    plot,
    random_settings,
    search,
    tuned_config,
)

BATCH_SIZE = 32


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
    parser.add_argument(
        "--prompts",
        metavar="FILE",
        help="probe prompts, one per line, decoded besides the dev pairs (they have no reference "
        "reply, so they count for every term but BLEU)",
    )
    parser.add_argument("--max-prompts", type=int, help="probe prompts used (default all)")
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
        help="metric = BLEU + W × 100 × distinct-2 (default 0: BLEU alone), when no weights",
    )
    parser.add_argument(
        "--weights",
        metavar="TERM=W,...",
        help="the objective, e.g. relevance=1,distinct2=1,generic=-1,broken=-1,copy=-1,short=-1 "
        f"(terms: {', '.join(TERMS)}); default: the YAML's tune.weights, else BLEU",
    )
    parser.add_argument("--output", metavar="YAML", help="default: WORKSPACE/tune/best.yaml")
    parser.add_argument("--plot", metavar="PNG", help="default: WORKSPACE/tune/metric.png")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    pairs_file = input_path("--pairs", args.pairs) if args.pairs else None
    probes_file = input_path("--prompts", args.prompts) if args.prompts else None
    weights = objective_weights(args, load_definition(args.bot, args.overrides).config)
    check_terms(weights, references=args.max_pairs > 0)  # before the model loads: fail fast
    bot = load_bot(args)
    pairs = dev_pairs(bot, pairs_file, args.max_pairs)
    probes = read_prompts(probes_file)[: args.max_prompts] if probes_file else []
    if not pairs and not probes:
        raise CorpusError(
            "no dev pairs: the bot has no validation split; pass --pairs FILE or --prompts FILE"
        )
    check_terms(weights, references=bool(pairs))
    first_tokens = [int(g) for g in args.first_tokens]
    if args.random:
        settings = random_settings(args.random, args.antilm, first_tokens, args.n_bonus, args.seed)
    else:
        settings = grid(args.antilm, first_tokens, args.n_bonus)
    references = [bot.tokenizer.normalize(pair.reply) for pair in pairs]
    dialogues = [list(pair.context) for pair in pairs] + [[probe] for probe in probes]

    def decode(setting: Setting) -> list[str]:
        decoding = bot.build_decoding(tuned_config(bot.config, setting, args.beam_size))
        return [best.text for best in bot.best_candidates(dialogues, decoding, BATCH_SIZE)]

    prompts = [dialogue[-1] for dialogue in dialogues]
    trials = search(
        decode, references, settings, progress=print, bleu_tokenize=bot.tokenizer.bleu_tokenize,
        prompts=prompts, weights=weights, embed=judge(),
    )
    write_results(bot, args, trials, len(dialogues), weights)
    return 0


def objective_weights(args: argparse.Namespace, config: BotConfig) -> dict[str, float]:
    """--weights, else --distinct-weight's BLEU + distinct-2, else the YAML's, else BLEU alone."""
    if args.weights is not None:
        if args.distinct_weight:
            raise CommandError("give --weights or --distinct-weight, not both")
        try:
            return parse_weights(args.weights)
        except ValueError as error:
            raise CommandError(str(error)) from None
    if args.distinct_weight:
        return {**BLEU_ONLY, "distinct2": 100 * args.distinct_weight}
    configured = config.tune.weights
    return dict(configured) if active(configured) else dict(BLEU_ONLY)


def check_terms(weights: dict[str, float], references: bool) -> None:
    """A one-line error when a weighted term cannot be measured on this dev set."""
    if "bleu" in active(weights) and not references:
        raise CommandError(
            "BLEU needs reference replies and probe prompts have none: give --weights without "
            "bleu (e.g. relevance=1,distinct2=1,generic=-1) or dev pairs (--max-pairs above 0)"
        )
    if "relevance" in active(weights) and not judge_available():
        raise CommandError(f"the objective weighs relevance, but {MISSING_JUDGE}")


def judge() -> Embedder | None:
    """The sentence-embedding model when installed (relevance is then shown), else None."""
    return sentence_embedder() if judge_available() else None


def dev_pairs(bot, pairs_file: Path | None, limit: int) -> list[Pair]:
    """The first ``limit`` pairs of ``pairs_file``, or of the bot's validation split."""
    if limit <= 0:
        return []
    return (read_pairs(pairs_file) if pairs_file else validation_pairs(bot))[:limit]


def write_results(
    bot, args: argparse.Namespace, trials: list[Trial], prompts: int, weights: dict[str, float]
) -> None:
    """Print the table and the best setting; write its YAML snippet and the plot."""
    print(format_table(trials, weights))
    workspace = bot.definition.workspace / "tune"
    output = Path(args.output) if args.output else workspace / "best.yaml"
    picture = Path(args.plot) if args.plot else workspace / "metric.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    best = best_trial(trials)
    snippet = best_snippet(bot.config, best, args.beam_size, prompts, weights)
    output.write_text(snippet, encoding="utf-8")
    plot(trials, picture, weights)
    print(f"best: {describe(best, weights)}; written to {output}; plot {picture}")


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


def read_prompts(path: Path) -> list[str]:
    """Probe prompts: one per line, blank lines skipped."""
    prompts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [prompt for prompt in prompts if prompt]


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
