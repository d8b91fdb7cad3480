"""``botframework export``: copy a trained checkpoint to where a bot ships it, optionally in fp16."""

from __future__ import annotations

import argparse
from pathlib import Path

from botframework.cli.options import add_bot_options

DTYPES = {"float32": None, "float16": "float16", "bfloat16": "bfloat16"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a checkpoint to the bot's shipped model file (bots/<name>/model.safetensors)",
        description="Copy a trained checkpoint (default: the newest in the workspace) to the file "
        "that ships with the bot, optionally with half-precision weights. Loading converts them back "
        "to float32. --set model.source_cache (or dropout, sampled_softmax) changes that setting in "
        "the exported file.",
    )
    add_bot_options(parser)
    parser.add_argument("--to", type=Path, help="default: bots/<name>/model.safetensors")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from botframework.checkpoint import (
        CheckpointError,
        load_checkpoint,
        model_settings,
        newest_trained_checkpoint,
        save_checkpoint,
    )
    from botframework.config.loader import load_definition
    from botframework.data.prepare import tokenizer_from_json
    from botframework.plugins import bot_plugin_manager, collect_parts

    definition = load_definition(args.bot, args.overrides)
    source = args.checkpoint or newest_trained_checkpoint(definition.workspace)
    if source is None:
        raise CheckpointError(f"{definition.workspace}/checkpoints: no trained checkpoint to export")
    checkpoint = load_checkpoint(Path(source))
    parts = collect_parts(bot_plugin_manager(definition))
    tokenizer = tokenizer_from_json(parts, checkpoint.tokenizer_name, checkpoint.tokenizer_json)
    target = args.to or definition.shipped_dir / "model.safetensors"
    dtype = DTYPES[args.dtype]
    settings = model_settings(checkpoint, definition)
    save_checkpoint(
        target,
        checkpoint.state_dict,
        checkpoint.config.model_copy(update={"model": settings}),
        tokenizer,
        checkpoint.step,
        dtype=getattr(torch, dtype) if dtype else None,
    )
    print(f"{checkpoint.path} -> {target} ({args.dtype})")
    return 0
