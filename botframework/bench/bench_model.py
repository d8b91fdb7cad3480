"""The model ``bench decode`` times: a bot's trained one with its held-out prompts, or random
weights of the YAML's shape."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from botframework.bench.decode import Sources
from botframework.data.tokenizer import Tokenizer
from botframework.decoding.settings import SHORTHAND_RESCORERS, rescorer_args
from botframework.model.seq2seq import Seq2Seq
from botframework.plugins import Parts


@dataclass
class BenchModel:
    """The model, its tokenizer, where it came from, the YAML's anti-LM arguments, the bot's
    registered parts and (trained bots with a corpus) held-out prompts for the agreement."""

    model: Seq2Seq
    tokenizer: Tokenizer
    origin: str
    antilm_args: dict[str, object]
    parts: Parts
    held_out: Sources | None = None


def load_model(
    bot: str | Path,
    overrides: Iterable[str] = (),
    checkpoint: str | Path | None = None,
    random_weights: bool = False,
    agreement_prompts: int = 200,
) -> BenchModel:
    """The bot's trained model, or the YAML's model section with random weights when none exists
    (or ``random_weights``)."""
    from botframework.bot import Bot, LoadedPlugins
    from botframework.checkpoint import CheckpointError
    from botframework.config.loader import load_definition

    antilm = SHORTHAND_RESCORERS["antilm"]
    if not random_weights:
        try:
            loaded = Bot.load(bot, overrides, checkpoint)
        except CheckpointError as error:
            print(f"no trained checkpoint ({error}); timing random weights", flush=True)
        else:
            origin = f"trained checkpoint {loaded.checkpoint.path}"
            args = rescorer_args(loaded.config, antilm)
            held_out = held_out_sources(loaded, agreement_prompts) if agreement_prompts else None
            return BenchModel(loaded.model, loaded.tokenizer, origin, args, loaded.parts, held_out)
    plugins = LoadedPlugins(load_definition(bot, overrides))
    config = plugins.config
    torch.manual_seed(0)
    model = Seq2Seq(config.tokenizer.vocab_size, config.model).eval()
    origin = "random weights (no trained checkpoint used): the YAML's model section"
    return BenchModel(model, Tokenizer(), origin, rescorer_args(config, antilm), plugins.parts)


def held_out_sources(bot, count: int) -> Sources | None:
    """The first ``count`` held-out prompts of the bot's corpus, encoded as the bot encodes them
    (None when its corpus cannot be read or holds none out)."""
    from botframework.data.corpus import CorpusError
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import read_conversations

    try:
        conversations = read_conversations(bot.definition, bot.parts)
    except (CorpusError, OSError) as error:
        print(f"no held-out prompts ({error}); agreement on random sources", flush=True)
        return None
    pairs = DialogueDataModule(bot.trained_config, bot.tokenizer, conversations).val_pairs
    if not pairs:
        return None
    ctx = bot.scoring_context([list(pair.context) for pair in pairs[:count]])
    return Sources(ctx.source_ids, ctx.source_lengths)
