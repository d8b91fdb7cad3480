"""``botframework eval``: compare checkpoints of a bot on held-out prompts, as a Markdown table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from botframework.cli.options import add_bot_options

DEFAULT_LIMIT = 200


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="compare checkpoints on held-out prompts (Markdown table)",
        description="Answer held-out prompts (the validation conversations of the corpus, or "
        "--prompts) with each checkpoint and its YAML decoding settings, let two copies of it talk "
        "from each prompt, and print one row per metric and one column per checkpoint: "
        "perplexity, distinct-1/2, dull-reply and generic rates, length, broken-reply and copy "
        "rates, well-formatted share, relevance (with botframework[judge]), simulated turns, "
        "mean reward per rule, plus "
        "the metrics plugins add (register_eval_metrics). With --configs, also compare decoding "
        "configurations of the first checkpoint on the same prompts.",
    )
    add_bot_options(parser, checkpoint=False)
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="PATH",
        help="a checkpoint to evaluate (repeatable; default: the newest in the workspace)",
    )
    parser.add_argument(
        "--prompts",
        metavar="FILE",
        help="one prompt per line, optionally followed by a tab and its true reply; - = stdin "
        "(default: the corpus's held-out conversations)",
    )
    parser.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"prompts used (default {DEFAULT_LIMIT})"
    )
    parser.add_argument(
        "--metrics", metavar="NAMES", help="comma-separated metric names (default: all)"
    )
    parser.add_argument(
        "--judge",
        metavar="PATH",
        help="the model that scores rewards for every checkpoint (default: the newest MLE one)",
    )
    parser.add_argument("--seed", type=int, default=0, help="for sampling decoders (default 0)")
    parser.add_argument("--output", metavar="FILE", help="also write the report to FILE")
    parser.add_argument(
        "--configs",
        nargs="?",
        const="default",
        metavar="NAMES",
        help="compare decoding configurations (comma-separated, from greedy, beam, antilm, "
        "length_bonus, mmi; default: all, mmi only with a reverse model)",
    )
    parser.add_argument(
        "--figure",
        metavar="FILE",
        help="PNG of distinct-2 and generic-reply rate per configuration (implies --configs)",
    )
    parser.add_argument(
        "--samples", type=int, default=5, metavar="N", help="sample replies shown (default 5)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from botframework.bot import Bot
    from botframework.config.loader import ConfigError
    from botframework.evaluation.report import collect_eval_metrics, markdown_table, measure
    from botframework.evaluation.run import EvalRun

    if args.limit < 1:
        raise ConfigError(f"--limit must be a positive integer, got {args.limit}")
    if args.samples < 0:
        raise ConfigError(f"--samples must be at least 0, got {args.samples}")
    _check_files(args)
    bots = [Bot.load(args.bot, args.overrides, path) for path in args.checkpoint or [None]]
    prompts, references = _prompts(args, bots)
    judge = _judge(args, bots[0])
    scorer, skipped = _scorer(judge)
    registry = collect_eval_metrics(judge.plugin_manager)
    names = args.metrics.split(",") if args.metrics else list(registry.factories)
    metrics = {name.strip(): registry.get(name.strip(), "--metrics") for name in names}
    bigram = _shared_bigram(bots[0])
    labels, results = [], []
    for bot in bots:
        same = bot.checkpoint.tokenizer_json == bots[0].checkpoint.tokenizer_json
        evaluation = EvalRun(
            _label(bot, labels), bot, prompts, references, scorer, skipped, args.seed,
            bigram if same else None,
        )
        labels.append(evaluation.label)
        results.append(measure(evaluation, metrics))
    table = markdown_table(labels, results)
    notes = [
        f"{len(prompts)} prompts; decoder {bots[0].config.decoding.decoder.name}; "
        f"rewards judged by {judge.checkpoint.path.name}"
    ]
    notes += [f"reward {name!r} not computed: {why}" for name, why in skipped.items()]
    notes += _judge_note(metrics)
    text = table + "\n\n" + "\n".join(notes) + "\n"
    if args.configs or args.figure:
        text += _compare_configs(args, bots[0], prompts, references)
    sys.stdout.write(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


def _check_files(args: argparse.Namespace) -> None:
    """Mistyped file names fail before any model loads."""
    from botframework.cli.errors import input_path, output_path

    if args.prompts and args.prompts != "-":
        input_path("--prompts", args.prompts)
    for option, value in (("--output", args.output), ("--figure", args.figure)):
        if value:
            output_path(option, value)


def _compare_configs(args: argparse.Namespace, bot, prompts, references) -> str:
    """The decoding configurations table and sample replies (Markdown); the figure if asked."""
    from botframework.evaluation.configs import (
        check_configs, decode_configs, default_configs, measure_configs,
    )
    from botframework.evaluation.report import bar_figure, markdown_table, samples_table

    if not args.configs or args.configs == "default":
        names = default_configs(bot)
    else:
        names = [name.strip() for name in args.configs.split(",") if name.strip()]
    check_configs(names, bot)
    decoded = decode_configs(bot, prompts, names)
    labels = [result.label for result in decoded]
    rows = measure_configs(bot, decoded, references, [prompt[-1] for prompt in prompts])
    if args.figure:
        bar_figure(args.figure, labels, rows, ["distinct-2", "generic-reply rate"])
    samples = samples_table(prompts, references, labels, [r.replies for r in decoded], args.samples)
    return (
        f"\n## Decoding configurations ({bot.checkpoint.path.stem})\n\n"
        + markdown_table(labels, rows)
        + "".join(f"\n\n{note}" for note in _judge_note({"relevance": None}))
        + "\n\n### Sample replies\n\n" + samples + "\n"
    )


def _judge_note(metrics: dict) -> list[str]:
    """Why relevance shows n/a, when it is asked for and its model is not installed."""
    from botframework.evaluation.relevance import MISSING_JUDGE, judge_available

    if "relevance" not in metrics or judge_available():
        return []
    return [f"relevance n/a: {MISSING_JUDGE}"]


def _shared_bigram(bot):
    """Fits the Kneser-Ney baseline of ``bot``'s training replies once, on first use."""
    from functools import cache

    from botframework.evaluation.bigram import fit_replies
    from botframework.evaluation.run import training_replies

    return cache(lambda: fit_replies(bot.tokenizer, training_replies(bot)))


def _prompts(args: argparse.Namespace, bots: list) -> tuple[list[list[str]], list[str] | None]:
    """The prompts (each a list of turns) and their true replies when known, at most --limit.

    Held-out prompts keep as many turns as the checkpoint trained on the most turns reads; each
    bot conditions on its own last ``context_turns`` of them.
    """
    from botframework.config.loader import ConfigError
    from botframework.evaluation.metrics import spread

    if args.prompts:
        if args.prompts == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(args.prompts).read_text(encoding="utf-8").splitlines()
        rows = [line.split("\t", 1) for line in lines if line.strip()]
        if not rows:
            raise ConfigError(f"--prompts: {args.prompts} holds no prompt")
        rows = spread(rows, args.limit)
        references = [row[1] for row in rows] if all(len(row) == 2 for row in rows) else None
        return [[row[0]] for row in rows], references
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import read_conversations

    bot = bots[0]
    turns = max(b.trained_config.corpus.context_turns for b in bots)
    config = bot.config.model_copy(deep=True)
    config.corpus.context_turns = turns
    conversations = read_conversations(bot.definition, bot.parts)
    pairs = DialogueDataModule(config, bot.tokenizer, conversations).val_pairs
    if not pairs:
        raise ConfigError(
            f"{bot.definition.path}: no held-out prompts: corpus.validation_fraction leaves no "
            "validation conversation; pass --prompts FILE"
        )
    pairs = spread(pairs, args.limit)
    return [list(p.context) for p in pairs], [p.reply for p in pairs]


def _judge(args: argparse.Namespace, first):
    """The bot whose model scores the rewards of every checkpoint (one judge for a fair table)."""
    from botframework.bot import Bot
    from botframework.reinforce.run import mle_checkpoint

    path = args.judge or mle_checkpoint(first.definition)
    if path is None or Path(path) == first.checkpoint.path:
        return first
    return Bot.load(args.bot, args.overrides, path)


def _scorer(judge):
    """The reward scorer of the bot's rules that can run, and why the others cannot."""
    from botframework.reinforce.rewards import RewardScorer, build_reward_rules

    usable, skipped = [], {}
    for rule in build_reward_rules(judge):
        missing = [m for m in rule.required_models if m not in judge.extra_models]
        if missing:
            skipped[rule.label] = f"the bot has no {' or '.join(missing)} model"
        else:
            usable.append(rule)
    scorer = RewardScorer(
        usable,
        judge.model,
        judge.tokenizer,
        judge.trained_config,
        judge.config.reinforce.dull_replies,
        judge.extra_models,
    )
    return scorer, skipped


def _label(bot, taken: list[str]) -> str:
    label = bot.checkpoint.path.stem
    return label if label not in taken else f"{label} ({len(taken) + 1})"
