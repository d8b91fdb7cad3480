"""Options shared by several sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botframework.bot import Bot


def add_bot_options(parser: argparse.ArgumentParser, checkpoint: bool = True) -> None:
    """The bot YAML, ``--set`` overrides and (for commands that use a model) ``--checkpoint``."""
    parser.add_argument("bot", metavar="BOT.yaml", help="bot definition, e.g. bots/chitchat.yaml")
    add_override_options(parser, checkpoint)


def add_override_options(parser: argparse.ArgumentParser, checkpoint: bool = True) -> None:
    """``--set KEY.PATH=VALUE`` (repeatable) and, optionally, ``--checkpoint PATH``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a YAML value, e.g. --set training.batch_size=32 (repeatable)",
    )
    if checkpoint:
        parser.add_argument(
            "--checkpoint",
            metavar="PATH",
            help="model file; default: the newest in the bot's workspace, else the shipped one",
        )


def load_bot(args: argparse.Namespace) -> Bot:
    """The trained bot the command line names."""
    from botframework.bot import Bot

    return Bot.load(args.bot, args.overrides, args.checkpoint)


def count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {least}, got {text!r}"
            )
        return value

    return parse
