"""``botframework bench decode``: its arguments; the benchmark is :mod:`botframework.bench.decode`."""

from __future__ import annotations

import argparse
import json

from botframework.cli.options import add_bot_options, count


def add_parser(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser(
        "decode",
        help="ms per reply: greedy, beam, beam + anti-LM, batched; the original algorithm; the floor",
    )
    add_bot_options(parser)
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="use the YAML's model section with random weights even if a checkpoint exists",
    )
    parser.add_argument(
        "--inputs", type=count(1), default=20, help="timed inputs per measurement (median)"
    )
    parser.add_argument(
        "--seed-style-inputs",
        type=count(1),
        default=3,
        help="timed inputs for the (slow) original algorithm",
    )
    parser.add_argument(
        "--agreement-prompts",
        type=count(0),
        default=200,
        help="held-out prompts on which each opt-in precision's best replies are compared",
    )
    parser.add_argument("--beam-size", type=count(1), default=10)
    parser.add_argument("--batch-size", type=count(1), default=32, help="inputs in one batch")
    parser.add_argument("--input-length", type=count(1), default=10)
    parser.add_argument("--reply-length", type=count(1), default=20)
    parser.add_argument(
        "--threads", type=count(1), help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument(
        "--rounds",
        type=count(1),
        default=1,
        help="time everything this many times, round after round; report the best of each number",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from botframework.bench.bench_model import load_model
    from botframework.bench.decode import run_decode_benchmark

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model(
        args.bot, args.overrides, args.checkpoint, args.random_weights, args.agreement_prompts
    )
    result = run_decode_benchmark(
        loaded.model,
        loaded.tokenizer,
        inputs=args.inputs,
        seed_style_inputs=args.seed_style_inputs,
        beam_size=args.beam_size,
        batch_size=args.batch_size,
        input_length=args.input_length,
        reply_length=args.reply_length,
        rounds=args.rounds,
        antilm_args=loaded.antilm_args,
        parts=loaded.parts,
        held_out=loaded.held_out,
    )
    print(json.dumps({"model": loaded.origin, **result}, indent=2))
    return 0
