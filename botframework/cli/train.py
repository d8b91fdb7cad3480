"""``botframework train``: train a bot from its YAML; resumes from the last checkpoint."""

from __future__ import annotations

import argparse

from botframework.cli.options import add_bot_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a bot's model (resumes from its last checkpoint)",
        description="Train the model of a bot YAML. Progress, perplexity and checkpoints go to the "
        "bot's workspace (works/<name>/ by default); an interrupted run resumes where it stopped.",
    )
    add_bot_options(parser, checkpoint=False)
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from botframework.bot import LoadedPlugins
    from botframework.config.loader import load_definition
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import load_or_train_tokenizer, read_conversations
    from botframework.training.trainer import train

    loaded = LoadedPlugins(load_definition(args.bot, args.overrides))
    conversations = read_conversations(loaded.definition, loaded.parts)
    tokenizer = load_or_train_tokenizer(loaded.definition, loaded.parts, conversations)
    datamodule = DialogueDataModule(loaded.config, tokenizer, conversations)
    checkpoint = train(
        loaded.definition,
        tokenizer,
        datamodule,
        progress_bar=not args.no_progress,
        max_steps=args.max_steps,
    )
    print(f"model saved to {checkpoint}")
    return 0
