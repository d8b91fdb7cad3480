"""``botframework tune``: search the anti-LM weight λ, its cut-off g and the length bonus γ.

Each setting decodes the held-out dev pairs (the bot's validation split, or ``--pairs``) and is
scored by corpus BLEU (sacrebleu, with add-one smoothing of the higher-order n-gram counts, which
keeps it above zero on short chat replies), optionally plus --distinct-weight × 100 × distinct-2.
The table of tried settings is printed, the best is written as a YAML snippet for the bot's
``decoding`` section, and the metric is plotted against λ (one line per g and γ).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from botframework.cli.errors import input_path
from botframework.cli.options import add_bot_options, load_bot
from botframework.data.corpus import CorpusError, Pair
from botframework.evaluation.tuning import (
    Setting,
    Trial,
    best_snippet,
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
    dialogues = [list(pair.context) for pair in pairs]

    def decode(setting: Setting) -> list[str]:
        decoding = bot.build_decoding(tuned_config(bot.config, setting, args.beam_size))
        return [best.text for best in bot.best_candidates(dialogues, decoding, BATCH_SIZE)]

    tokenize = bot.tokenizer.bleu_tokenize
    trials = search(decode, references, settings, args.distinct_weight, print, tokenize)
    write_results(bot, args, trials, len(pairs))
    return 0


def write_results(bot, args: argparse.Namespace, trials: list[Trial], pairs: int) -> None:
    """Print the table and the best setting; write its YAML snippet and the plot."""
    print(format_table(trials))
    workspace = bot.definition.workspace / "tune"
    output = Path(args.output) if args.output else workspace / "best.yaml"
    picture = Path(args.plot) if args.plot else workspace / "metric.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    best = max(trials, key=lambda t: t.metric)
    output.write_text(best_snippet(bot.config, best, args.beam_size, pairs), encoding="utf-8")
    plot(trials, picture)
    print(
        f"best: λ={best.setting.antilm} g={best.setting.first_tokens} γ={best.setting.length_bonus}"
        f" (BLEU {best.bleu:.2f}, distinct-2 {best.distinct2:.3f}); "
        f"written to {output}; plot {picture}"
    )


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
