"""The ``botframework`` command line: one small module per sub-command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from botframework.version import __version__


def build_parser() -> argparse.ArgumentParser:
    from botframework.cli import (
        bench,
        chat,
        evaluate,
        export,
        plugins_command,
        reinforce,
        test,
        train,
        tune,
    )
    from botframework.cli.serve import add_serve_commands
    from botframework.plugins import build_plugin_manager

    parser = argparse.ArgumentParser(
        prog="botframework",
        description="Train seq2seq chatbots from a bot YAML, talk to them, and serve them on Messenger.",
    )
    parser.add_argument("--version", action="version", version=f"botframework {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (train, test, chat, plugins_command, bench, tune, reinforce, evaluate, export):
        module.add_parser(subparsers)
    add_serve_commands(subparsers)
    build_plugin_manager().hook.register_commands(subparsers=subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from botframework.allocator import keep_freed_memory
    from botframework.cli.errors import USAGE_ERROR, run_handler

    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return USAGE_ERROR
    return run_handler(args)
