"""``botframework bench``: benchmarks that print numbers (one JSON object), baselines included."""

from __future__ import annotations

import argparse
import json

from botframework.cli import bench_decode
from botframework.cli.options import add_bot_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its numbers as JSON")
    kinds = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    train = kinds.add_parser(
        "train",
        help="training tokens/s: full vs sampled softmax, Lightning vs a plain PyTorch loop",
    )
    add_bot_options(train, checkpoint=False)
    train.add_argument("--vocab-sizes", default="20000,60000", help="comma-separated")
    train.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    train.set_defaults(handler=run_train)
    bench_decode.add_parser(kinds)


def run_train(args: argparse.Namespace) -> int:
    from botframework.config.loader import load_definition
    from botframework.training.benchmark import run_train_benchmark

    config = load_definition(args.bot, args.overrides).config
    sizes = tuple(int(size) for size in args.vocab_sizes.split(","))
    print(json.dumps(run_train_benchmark(config, vocab_sizes=sizes, steps=args.steps), indent=2))
    return 0
