"""``botframework reinforce``: fine-tune a trained bot by reinforcement learning."""

from __future__ import annotations

import argparse

from botframework.cli.options import add_bot_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reinforce",
        help="fine-tune a trained bot by deep reinforcement learning (two agents talking)",
        description="Start from the bot's newest MLE checkpoint (or --checkpoint), let two copies "
        "of it talk by sampling, reward every turn with the YAML's `rewards` (default: ease of "
        "answering 0.25, information flow 0.25, semantic coherence 0.5) and train it by REINFORCE "
        "as `reinforce` in the YAML says. Writes <workspace>/checkpoints/rl-step-XXXXXXXX"
        ".safetensors, which chat/test/serve then use by default (or pick with --checkpoint); "
        "logs go to <workspace>/logs/reinforce.",
    )
    add_bot_options(parser, checkpoint=False)
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="the model to start from; default: the newest MLE checkpoint (step-*.safetensors) "
        "in the bot's workspace, else the shipped one",
    )
    parser.add_argument("--steps", type=int, help="optimizer steps (default: reinforce.steps)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from botframework.config.loader import ConfigError
    from botframework.reinforce.run import reinforce

    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps must be a positive integer, got {args.steps}")
    path = reinforce(
        args.bot,
        args.overrides,
        args.checkpoint,
        steps=args.steps,
        progress_bar=not args.no_progress,
    )
    print(f"reinforced model saved to {path}")
    return 0
