"""``botframework test``: answer every prompt of a file and write the n-best lists as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from botframework.cli.decoding_options import add_decoding_options, configure_decoding
from botframework.cli.options import add_bot_options, load_bot

BATCH_SIZE = 32


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "test",
        help="answer the prompts of a file, writing JSON lines",
        description='Decode a reply for every line of --input and write one JSON object per line: '
        '{"input": ..., "replies": [{"text": ..., "score": ...}, ...]}, best first; score is the '
        "final log-space score after every rescorer.",
    )
    add_bot_options(parser)
    parser.add_argument("--input", default="-", metavar="FILE", help="one prompt per line (- = stdin)")
    add_decoding_options(parser)
    parser.add_argument("--output", default="-", metavar="FILE", help="JSON lines (- = stdout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    bot = load_bot(args)
    configure_decoding(bot, args)
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
    target = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for batch in _batches(source):
            for prompt, candidates in zip(batch, bot.generate([[p] for p in batch])):
                row = {"input": prompt, "replies": [c.to_json() for c in candidates]}
                target.write(json.dumps(row, ensure_ascii=False) + "\n")
            target.flush()
    finally:
        for handle in (source, target):
            if handle not in (sys.stdin, sys.stdout):
                handle.close()
    return 0


def _batches(source: TextIO) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in source:
        batch.append(line.rstrip("\n"))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
