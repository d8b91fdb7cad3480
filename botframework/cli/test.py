"""``botframework test``: answer every prompt of a file and write the n-best lists as JSON lines."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, TextIO

from botframework.cli.decoding_options import add_decoding_options, configure_decoding
from botframework.cli.errors import CommandError, input_path, output_path
from botframework.cli.options import add_bot_options, load_bot

if TYPE_CHECKING:
    from botframework.bot import Bot
    from botframework.decoding.candidate import Candidate
    from botframework.pipeline import Reply

BATCH_SIZE = 32


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "test",
        help="answer the prompts of a file, writing JSON lines",
        description='Answer every line of --input through the message pipeline, as chat and serve '
        'do, and write one JSON object per line: {"input": ..., "reply": ..., "answered_by": ..., '
        '"replies": [{"text": ..., "score": ...}, ...]}; "reply" is what a user would get, '
        '"replies" the model\'s n-best list, best first (empty when a plugin answered); score is '
        "the final log-space score after every rescorer.",
    )
    add_bot_options(parser)
    parser.add_argument("--input", default="-", metavar="FILE", help="one prompt per line (- = stdin)")
    add_decoding_options(parser)
    parser.add_argument("--output", default="-", metavar="FILE", help="JSON lines (- = stdout)")
    parser.add_argument(
        "--no-pipeline",
        action="store_true",
        help="only the model's n-best lists: skip the plugins' message hooks",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    source_path = None if args.input == "-" else input_path("--input", args.input)
    target_path = None if args.output == "-" else output_path("--output", args.output)
    with ExitStack() as files:
        source = sys.stdin
        if source_path is not None:
            source = files.enter_context(open(source_path, encoding="utf-8"))
        batches = _batches(source)
        first = next(batches, None)
        if first is None:
            raise CommandError(f"--input {args.input}: no prompts (the input is empty)")
        bot = load_bot(args)
        configure_decoding(bot, args)
        answer = _answer_directly if args.no_pipeline else _answer_through_pipeline
        target = sys.stdout
        if target_path is not None:
            target = files.enter_context(open(target_path, "w", encoding="utf-8"))
        for batch in itertools.chain([first], batches):
            rows = answer(bot, batch)
            target.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            target.flush()
    return 0


def _answer_directly(bot: Bot, prompts: list[str]) -> list[dict[str, object]]:
    rows = []
    for prompt, candidates in zip(prompts, bot.generate([[p] for p in prompts])):
        rows.append({"input": prompt, "replies": [c.to_json() for c in candidates]})
    return rows


def _answer_through_pipeline(bot: Bot, prompts: list[str]) -> list[dict[str, object]]:
    """The replies chat and serve would give; the model's calls batched as the server does."""
    import asyncio

    from botframework.messenger.batching import Batcher
    from botframework.pipeline import Conversation, IncomingMessage, MessagePipeline

    async def answer_all() -> list[dict[str, object]]:
        batcher = Batcher(bot.generate, max_size=BATCH_SIZE)

        async def generate(
            message: IncomingMessage, conversation: Conversation
        ) -> list[Candidate]:
            return await batcher.submit([*conversation.texts(), message.text])

        pipeline = MessagePipeline(bot.plugin_manager.hook, generate)
        try:
            replies = await asyncio.gather(
                *(pipeline.handle(IncomingMessage(text, channel="test"), Conversation())
                  for text in prompts)
            )
        finally:
            await batcher.close()
        return [_row(prompt, reply) for prompt, reply in zip(prompts, replies)]

    return asyncio.run(answer_all())


def _row(prompt: str, reply: Reply) -> dict[str, object]:
    row: dict[str, object] = {
        "input": prompt,
        "reply": reply.text,
        "answered_by": reply.answered_by,
        "replies": [c.to_json() for c in reply.candidates],
    }
    for key in ("vetoed_by", "replaced_by"):
        if getattr(reply, key):
            row[key] = getattr(reply, key)
    return row


def _batches(source: TextIO) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in source:
        batch.append(line.rstrip("\n"))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
