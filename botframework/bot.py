"""The Python API: a trained bot, ready to answer.

    bot = Bot.load("bots/chitchat.yaml")
    bot.reply("hi")
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pluggy
import torch
from pydantic import BaseModel

from botframework.checkpoint import Checkpoint, CheckpointError, find_checkpoint, load_checkpoint
from botframework.config.loader import BotDefinition, ConfigError, load_definition
from botframework.config.schema import BotConfig
from botframework.data.encoding import encode_source
from botframework.data.prepare import tokenizer_from_json
from botframework.data.tokenizer import Tokenizer
from botframework.decoding.candidate import Candidate
from botframework.decoding.context import ScoringContext
from botframework.decoding.rescorer import (
    CandidateRescorer,
    StepRescorer,
    apply_candidate_rescorers,
)
from botframework.model.seq2seq import Seq2Seq
from botframework.pipeline import Conversation, IncomingMessage, MessagePipeline, Reply
from botframework.plugin_settings import validate_settings
from botframework.plugins import Parts, build_plugin_manager, collect_parts

logger = logging.getLogger(__name__)


@dataclass
class Decoding:
    """A decoder with its rescorers, built from the ``decoding`` section."""

    decoder: object
    step_rescorers: list[StepRescorer]
    candidate_rescorers: list[CandidateRescorer]
    max_length: int


class LoadedPlugins:
    """A bot definition with its plugin manager and registered parts (no model needed)."""

    def __init__(self, definition: BotDefinition) -> None:
        self.definition = definition
        plugins = definition.config.plugins
        self.plugin_manager: pluggy.PluginManager = build_plugin_manager(plugins.load, plugins.block)
        self.parts: Parts = collect_parts(self.plugin_manager)
        #: Every plugin's validated ``settings`` section, by name (``register_settings``).
        self.settings: dict[str, BaseModel] = validate_settings(
            self.plugin_manager.hook, definition.config.settings, definition.path
        )
        self.check_names(definition.config)

    @property
    def config(self) -> BotConfig:
        return self.definition.config

    def check_names(self, config: BotConfig) -> None:
        """Fail at load, listing the registered names, if the YAML names an unknown part."""
        where = str(self.definition.path)
        self.parts.tokenizers.get(config.tokenizer.name, f"{where}: tokenizer.name")
        self.parts.corpus_readers.get(config.corpus.reader, f"{where}: corpus.reader")
        self.build_decoding(config)
        for index, entry in enumerate(config.rewards):
            self.parts.reward_rules.create(entry.name, entry.args, f"{where}: rewards.{index}")

    def build_decoding(self, config: BotConfig) -> Decoding:
        where = str(self.definition.path)
        section = config.decoding
        decoder = self.parts.decoders.create(
            section.decoder.name, section.decoder.args, f"{where}: decoding.decoder"
        )
        step, whole = [], []
        for index, entry in enumerate(section.rescorers):
            rescorer = self.parts.rescorers.create(
                entry.name, entry.args, f"{where}: decoding.rescorers.{index}"
            )
            if isinstance(rescorer, StepRescorer):
                step.append(rescorer)
            elif isinstance(rescorer, CandidateRescorer):
                whole.append(rescorer)
            else:
                raise ConfigError(
                    f"{where}: decoding.rescorers.{index}: {entry.name!r} is neither a "
                    "StepRescorer nor a CandidateRescorer"
                )
        return Decoding(decoder, step, whole, section.max_length)


class Bot(LoadedPlugins):
    """A bot definition plus its trained model; answers through the message pipeline.

    The model's shape and tokenizer come from the checkpoint; the decoding section, plugins and
    channel settings come from the YAML (so they can change without retraining).
    """

    def __init__(self, definition: BotDefinition, checkpoint: Checkpoint) -> None:
        super().__init__(definition)
        self.checkpoint = checkpoint
        self.trained_config = checkpoint.config
        self.tokenizer: Tokenizer = tokenizer_from_json(
            self.parts, checkpoint.tokenizer_name, checkpoint.tokenizer_json
        )
        self.model = self._build_model(checkpoint)
        self.decoding = self.build_decoding(definition.config)
        self.extra_models: dict[str, Seq2Seq] = {}
        self._load_reverse_model()
        self._model_lock = threading.Lock()

    def _load_reverse_model(self) -> None:
        """The backward model p(prompt | reply), when one was trained (``train --reverse``)."""
        definition = self.definition
        path = find_checkpoint(definition.workspace / "reverse", definition.shipped_dir / "reverse")
        if path is None:
            return
        reverse = load_checkpoint(path)
        if reverse.tokenizer_json != self.checkpoint.tokenizer_json:
            logger.warning(
                "%s: not used as the backward model: its tokenizer differs from %s's",
                path,
                self.checkpoint.path,
            )
            return
        self.extra_models["reverse"] = self._build_model(reverse)

    def _build_model(self, checkpoint: Checkpoint) -> Seq2Seq:
        model = Seq2Seq(self.tokenizer.vocab_size, checkpoint.config.model)
        model.load_state_dict(checkpoint.state_dict)
        return model.eval()

    @classmethod
    def load(
        cls,
        path: str | Path,
        overrides: Iterable[str] = (),
        checkpoint: str | Path | None = None,
    ) -> Bot:
        """Load a bot YAML and its newest trained checkpoint (or ``checkpoint``, or the shipped one)."""
        definition = load_definition(path, overrides)
        if checkpoint is None:
            checkpoint = find_checkpoint(definition.workspace, definition.shipped_dir)
            if checkpoint is None:
                raise CheckpointError(
                    f"{definition.path}: no trained model: none in {definition.workspace}/checkpoints "
                    f"and none shipped in {definition.shipped_dir}; run "
                    f"`botframework train {definition.path}` first"
                )
        return cls(definition, load_checkpoint(Path(checkpoint)))

    def prompt_turns(self, dialogue: Sequence[str]) -> list[str]:
        """The turns the model conditions on: the last ``context_turns`` it was trained with."""
        return list(dialogue[-self.trained_config.corpus.context_turns :])

    def scoring_context(self, dialogues: Sequence[Sequence[str]]) -> ScoringContext:
        limit = self.trained_config.corpus.max_source_length
        sources = [encode_source(self.tokenizer, self.prompt_turns(d), limit) for d in dialogues]
        source_ids = torch.zeros((len(sources), max(map(len, sources))), dtype=torch.long)
        for row, ids in enumerate(sources):
            source_ids[row, : len(ids)] = torch.tensor(ids)
        return ScoringContext(
            model=self.model,
            tokenizer=self.tokenizer,
            source_ids=source_ids,
            source_lengths=torch.tensor([len(ids) for ids in sources]),
            dialogues=[list(d) for d in dialogues],
            max_length=self.decoding.max_length,
            extra_models=self.extra_models,
        )

    def generate(
        self, dialogues: Sequence[Sequence[str]], decoding: Decoding | None = None
    ) -> list[list[Candidate]]:
        """Candidates, best first, for a batch of dialogues (each a list of turns, newest last)."""
        if not dialogues:
            return []
        decoding = decoding or self.decoding
        with self._model_lock, torch.inference_mode():
            ctx = self.scoring_context(dialogues)
            ctx.max_length = decoding.max_length
            candidates = decoding.decoder(ctx, decoding.step_rescorers)
            for row in candidates:
                for candidate in row:
                    candidate.text = self.tokenizer.decode(candidate.token_ids)
            return apply_candidate_rescorers(ctx, decoding.candidate_rescorers, candidates)

    async def generate_one(
        self, message: IncomingMessage, conversation: Conversation
    ) -> list[Candidate]:
        """Generate off the event loop, in a worker thread."""
        dialogue = [*conversation.texts(), message.text]
        results = await asyncio.to_thread(self.generate, [dialogue])
        return results[0]

    def pipeline(self) -> MessagePipeline:
        return MessagePipeline(self.plugin_manager.hook, self.generate_one)

    def reply(self, text: str, conversation: Conversation | None = None) -> str | None:
        """Answer one message synchronously through the pipeline; records both turns."""
        return asyncio.run(self.respond(text, conversation)).text

    async def respond(self, text: str, conversation: Conversation | None = None) -> Reply:
        conversation = conversation if conversation is not None else Conversation()
        conversation.plugin_settings = self.settings
        reply = await self.pipeline().handle(IncomingMessage(text), conversation)
        conversation.add("user", text)
        if reply.text is not None:
            conversation.add("bot", reply.text)
        return reply
