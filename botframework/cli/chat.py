"""``botframework chat``: talk to a bot in the terminal, through the same pipeline as Messenger."""

from __future__ import annotations

import argparse
import sys

from botframework.cli.decoding_options import add_decoding_options, configure_decoding
from botframework.cli.options import add_bot_options, load_bot

EXIT_WORDS = {"exit", "quit", ":q"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with a bot in the terminal",
        description="Type a message, read the reply. Ctrl-D or 'exit' ends the chat. Plugins that "
        "pre-process, answer or post-process messages take part exactly as on Messenger.",
    )
    add_bot_options(parser)
    add_decoding_options(parser)
    parser.add_argument("--show-candidates", action="store_true", help="print the n-best list too")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from botframework.pipeline import Conversation

    bot = load_bot(args)
    configure_decoding(bot, args)
    conversation = Conversation()
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"Chatting with {bot.config.name}. Type 'exit' or press Ctrl-D to stop.")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line or line.strip() in EXIT_WORDS:
            return 0
        text = line.strip()
        if not text:
            continue
        reply = asyncio.run(bot.respond(text, conversation))
        print(reply.text if reply.text is not None else "(no reply)", flush=True)
        if args.show_candidates:
            for candidate in reply.candidates:
                print(f"  {candidate.score:9.3f}  {candidate.text}")
