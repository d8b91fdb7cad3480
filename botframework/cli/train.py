"""``botframework train``: train a bot from its YAML; resumes from the last checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    parser.add_argument(
        "--init-from",
        metavar="PATH",
        help="start from this checkpoint's weights and tokenizer (e.g. the shipped model) instead "
        "of random weights; ignored when the workspace has a run to resume. With --reverse, the "
        "forward model's weights warm-start the backward one (same vocabulary and shape)",
    )
    parser.add_argument(
        "--new-vocabulary",
        action="store_true",
        help="with --init-from: keep the YAML's own tokenizer (trained on the corpus) and map the "
        "checkpoint's embedding and output rows to it by token text, e.g. to move a word model to "
        "cased subwords; the rest of the model's shape must be the same",
    )
    parser.add_argument(
        "--reverse",
        action="store_true",
        help="train only the backward model p(prompt | reply) (also trained after the forward "
        "model when training.reverse_model is true)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from botframework.bot import LoadedPlugins
    from botframework.config.loader import ConfigError, load_definition
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import (
        load_or_train_tokenizer,
        read_conversations,
        tokenizer_from_json,
    )
    from botframework.training.trainer import train

    definition = load_definition(args.bot, args.overrides)
    if definition.workspace.resolve().is_relative_to(definition.shipped_dir.resolve()):
        raise ConfigError(
            f"{definition.path}: workspace: {definition.workspace} is inside the shipped model folder "
            f"{definition.shipped_dir}; training never writes over shipped files"
        )
    loaded = LoadedPlugins(definition)
    conversations = read_conversations(definition, loaded.parts)
    if args.new_vocabulary and not args.init_from:
        raise ConfigError("--new-vocabulary needs --init-from: the checkpoint whose weights to map")
    initial = load_initial_checkpoint(args.init_from, loaded) if args.init_from else None
    initial_weights = initial.state_dict if initial is not None else None
    if initial is not None and not args.new_vocabulary:
        tokenizer = tokenizer_from_json(loaded.parts, initial.tokenizer_name, initial.tokenizer_json)
    else:
        tokenizer = load_or_train_tokenizer(definition, loaded.parts, conversations)
    if initial is not None and args.new_vocabulary:
        initial_weights = mapped_weights(initial, tokenizer, loaded)
    directions = [True] if args.reverse else [False]
    if loaded.config.training.reverse_model and not args.reverse:
        directions.append(True)
    for reverse in directions:
        target = reverse_definition(definition) if reverse else definition
        datamodule = DialogueDataModule(loaded.config, tokenizer, conversations, reverse=reverse)
        checkpoint = train(
            target,
            tokenizer,
            datamodule,
            progress_bar=not args.no_progress,
            max_steps=args.max_steps,
            initial_weights=initial_weights,
        )
        if checkpoint is not None:  # None in the other processes of a distributed run
            print(f"{'backward' if reverse else 'forward'} model saved to {checkpoint}")
    return 0


def load_initial_checkpoint(path: str, loaded):
    """The checkpoint to start from; its model section must be the YAML's."""
    from botframework.checkpoint import SHAPE_FREE_SETTINGS, load_checkpoint
    from botframework.config.loader import ConfigError

    checkpoint = load_checkpoint(Path(path))
    trained = checkpoint.config.model.model_dump(exclude=SHAPE_FREE_SETTINGS)
    if trained != loaded.config.model.model_dump(exclude=SHAPE_FREE_SETTINGS):
        raise ConfigError(
            f"{loaded.definition.path}: model: differs from the model section {path} was trained "
            f"with ({trained}); --init-from needs the same shape"
        )
    return checkpoint


def mapped_weights(initial, tokenizer, loaded):
    """The checkpoint's weights with its vocabulary rows re-indexed for the YAML's ``tokenizer``."""
    from botframework.data.prepare import tokenizer_from_json
    from botframework.training.vocabulary_transfer import transfer_vocabulary

    old = tokenizer_from_json(loaded.parts, initial.tokenizer_name, initial.tokenizer_json)
    weights, report = transfer_vocabulary(initial.state_dict, old, tokenizer)
    print(f"--new-vocabulary: {report}")
    return weights


def reverse_definition(definition):
    """The same bot with its workspace moved to ``<workspace>/reverse`` for the backward model."""
    from botframework.config.loader import BotDefinition

    workspace = str((definition.workspace / "reverse").resolve())
    config = definition.config.model_copy(update={"workspace": workspace})
    return BotDefinition(config, definition.path, definition.from_env, definition.overridden)
