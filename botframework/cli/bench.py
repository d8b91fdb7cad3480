"""``botframework bench``: benchmarks that print numbers (one JSON object), baselines included.

This module only reads the command line; the benchmarks are in :mod:`botframework.bench`.
"""

from __future__ import annotations

import argparse
import json
import logging

from botframework.cli import bench_decode
from botframework.cli.options import add_bot_options, count


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its numbers as JSON")
    kinds = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    train = kinds.add_parser(
        "train",
        help="training tokens/s: full vs sampled softmax, Lightning vs a plain PyTorch loop",
    )
    add_bot_options(train, checkpoint=False)
    train.add_argument(
        "--vocab-sizes", type=_sizes, default="20000,60000", metavar="LIST", help="comma-separated"
    )
    train.add_argument("--steps", type=count(1), default=10, help="timed steps per measurement")
    train.add_argument("--warmup", type=count(0), default=3, help="untimed steps first")
    train.add_argument("--rounds", type=count(1), default=2, help="best of this many runs")
    train.set_defaults(handler=run_train)
    bench_decode.add_parser(kinds)


def run_train(args: argparse.Namespace) -> int:
    from botframework.bench.train import run_train_benchmark
    from botframework.config.loader import load_definition

    config = load_definition(args.bot, args.overrides).config
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    results = run_train_benchmark(
        config, args.vocab_sizes, steps=args.steps, warmup=args.warmup, rounds=args.rounds
    )
    print(json.dumps(results, indent=2))
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 6:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated vocabulary sizes above the 5 special tokens, got {text!r}"
        )
    return sizes
