"""Word-level perplexity of a checkpoint at several source-cache weights λ, on either split.

Usage: ``python benchmarks/source_cache.py bots/chitchat.yaml --checkpoint PATH [--split train|val]
[--weights 0,0.01,0.02,0.05] [--limit 2000]``. The model's weights stay the same; only
``model.source_cache`` changes, so λ 0 is the baseline. The pairs are spread over the split as
``eval --limit`` spreads them. Pick λ on ``--split train`` to keep the held-out
conversations for the evaluation. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json

from botframework import Bot
from botframework.data.datamodule import DialogueDataModule
from botframework.data.prepare import read_conversations
from botframework.evaluation.metrics import spread, word_perplexity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bot", help="a bot YAML")
    parser.add_argument("--checkpoint", help="default: the newest trained, else the shipped one")
    parser.add_argument("--split", choices=("train", "val"), default="train")
    parser.add_argument("--weights", default="0,0.01,0.02,0.03,0.05,0.1", help="comma-separated λ")
    parser.add_argument("--limit", type=int, default=2000, help="pairs, spread over the split")
    args = parser.parse_args()
    bot = Bot.load(args.bot, checkpoint=args.checkpoint)
    config = bot.trained_config
    data = DialogueDataModule(config, bot.tokenizer, read_conversations(bot.definition, bot.parts))
    pairs = data.train_pairs if args.split == "train" else data.val_pairs
    pairs = spread(pairs, args.limit)
    results = {"checkpoint": str(bot.checkpoint.path), "split": args.split, "pairs": len(pairs)}
    perplexities = {}
    for weight in (float(w) for w in args.weights.split(",")):
        bot.model.config.source_cache = weight
        perplexities[str(weight)] = round(
            word_perplexity(bot.model, bot.tokenizer, pairs, config.corpus.max_source_length), 2
        )
    results["word_perplexity_by_weight"] = perplexities
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
