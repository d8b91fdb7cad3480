"""Training tokens/s: full vs sampled softmax at 20k and 60k words, Lightning vs a plain loop.

Usage: ``python benchmarks/bench_train.py [BOT.yaml] [--vocab-sizes 20000,60000] [--steps 10]``.
Without a YAML the default model section is used (hidden 256, 2 layers). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging

from botframework.config.loader import load_definition
from botframework.config.schema import BotConfig
from botframework.training.benchmark import run_train_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bot", nargs="?", help="a bot YAML whose model section to measure")
    parser.add_argument("--vocab-sizes", default="20000,60000", help="comma-separated")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--rounds", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    config = load_definition(args.bot).config if args.bot else BotConfig(name="bench")
    sizes = tuple(int(size) for size in args.vocab_sizes.split(","))
    results = run_train_benchmark(
        config, vocab_sizes=sizes, steps=args.steps, warmup=args.warmup, rounds=args.rounds
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
