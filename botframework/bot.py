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

from botframework.allocator import return_freed_memory
from botframework.checkpoint import (
    SHIPPED_MODEL,
    Checkpoint,
    CheckpointError,
    check_tensor_shapes,
    default_checkpoint,
    describe_choice,
    load_checkpoint,
    model_settings,
    newest_trained_checkpoint,
)
from botframework.config.loader import BotDefinition, ConfigError, load_definition
from botframework.config.schema import BotConfig, ModelConfig
from botframework.data.encoding import encode_source
from botframework.data.prepare import tokenizer_from_json
from botframework.data.tokenizer import Tokenizer
from botframework.data.turns import last_turns
from botframework.decoding.candidate import Candidate
from botframework.decoding.context import ScoringContext
from botframework.decoding.rescorer import (
    CandidateRescorer,
    StepRescorer,
    apply_candidate_rescorers,
)
from botframework.model.projection import forget_weight_copies
from botframework.model.seq2seq import Seq2Seq
from botframework.pipeline import Conversation, IncomingMessage, MessagePipeline, Reply
from botframework.plugin_settings import validate_settings
from botframework.plugins import Parts, bot_plugin_manager, collect_parts
from botframework.tensors import pad_sequences

logger = logging.getLogger(__name__)


@dataclass
class Decoding:
    """A decoder with its rescorers, built from the ``decoding`` section."""

    decoder: object
    step_rescorers: list[StepRescorer]
    candidate_rescorers: list[CandidateRescorer]
    max_length: int
    written: bool = False  # replies as written text (Tokenizer.written)


class LoadedPlugins:
    """A bot definition with its plugin manager and registered parts (no model needed)."""

    def __init__(self, definition: BotDefinition) -> None:
        self.definition = definition
        self.plugin_manager: pluggy.PluginManager = bot_plugin_manager(definition)
        self.parts: Parts = collect_parts(self.plugin_manager)
        #: Every plugin's validated ``settings`` section, by name (``register_settings``).
        self.settings: dict[str, BaseModel] = validate_settings(
            self.plugin_manager.hook,
            definition.config.settings,
            definition.path,
            definition.from_env,
            definition.config.channel.model_extra,
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
        return Decoding(decoder, step, whole, section.max_length, section.written)


class Bot(LoadedPlugins):
    """A bot definition plus its trained model; answers through the message pipeline.

    The model's shape and tokenizer come from the checkpoint; the decoding section, plugins and
    channel settings come from the YAML (so they can change without retraining).
    """

    def __init__(self, definition: BotDefinition, checkpoint: Checkpoint) -> None:
        super().__init__(definition)
        self.checkpoint = checkpoint
        self.trained_config = checkpoint.config
        self.tokenizer: Tokenizer = self._tokenizer_of(checkpoint)
        self.model = self._build_model(checkpoint, model_settings(checkpoint, definition))
        logger.info("%s", describe_choice(definition, checkpoint))
        self.decoding = self.build_decoding(definition.config)
        self.extra_models: dict[str, Seq2Seq] = {}
        self._load_reverse_model()
        self._model_lock = threading.Lock()
        self._released = False

    def _tokenizer_of(self, checkpoint: Checkpoint) -> Tokenizer:
        where = f"{checkpoint.path}: tokenizer_name"
        try:
            return tokenizer_from_json(
                self.parts, checkpoint.tokenizer_name, checkpoint.tokenizer_json, where
            )
        except ConfigError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CheckpointError(
                f"{checkpoint.path}: metadata 'tokenizer' cannot be read ({error!r})"
            ) from None

    def reverse_model_places(self) -> list[Path]:
        """Where the backward model is looked for, in this order."""
        workspace, shipped = self.definition.workspace, self.definition.shipped_dir
        places = [workspace / "reverse" / "checkpoints", shipped / "reverse" / SHIPPED_MODEL]
        beside = self.checkpoint.path.parent / "reverse" / SHIPPED_MODEL
        return places if beside in places else [*places, beside]

    def _load_reverse_model(self) -> None:
        """The backward model p(prompt | reply), when one was trained (``train --reverse``)."""
        places = self.reverse_model_places()
        path = newest_trained_checkpoint(self.definition.workspace / "reverse")
        path = path or next((place for place in places[1:] if place.is_file()), None)
        if path is None:
            logger.info(
                "%s: no backward model (looked in %s)",
                self.config.name,
                ", ".join(map(str, places)),
            )
            return
        reverse = load_checkpoint(path)
        if reverse.tokenizer_json != self.checkpoint.tokenizer_json:
            logger.warning(
                "%s: not used as the backward model: its tokenizer differs from %s's",
                path,
                self.checkpoint.path,
            )
            return
        self.extra_models["reverse"] = self._build_model(reverse, reverse.config.model)
        logger.info("%s: backward model %s (step %d)", self.config.name, path, reverse.step)

    def _build_model(self, checkpoint: Checkpoint, settings: ModelConfig) -> Seq2Seq:
        check_tensor_shapes(checkpoint, self.tokenizer.vocab_size)
        model = Seq2Seq(self.tokenizer.vocab_size, settings)
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
        chosen = Path(checkpoint) if checkpoint is not None else default_checkpoint(definition)
        return cls(definition, load_checkpoint(chosen))

    def prompt_turns(self, dialogue: Sequence[str]) -> list[str]:
        """The turns the model conditions on: the last ``context_turns`` it was trained with."""
        return last_turns(dialogue, self.trained_config.corpus.context_turns)

    def scoring_context(self, dialogues: Sequence[Sequence[str]]) -> ScoringContext:
        limit = self.trained_config.corpus.max_source_length
        sources = [encode_source(self.tokenizer, self.prompt_turns(d), limit) for d in dialogues]
        source_ids, source_lengths = pad_sequences(sources, self.tokenizer.pad_id)
        return ScoringContext(
            model=self.model,
            tokenizer=self.tokenizer,
            source_ids=source_ids,
            source_lengths=source_lengths,
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
        if self._released:
            raise RuntimeError(
                f"{self.config.name}: its models were released (another process decodes for it); "
                "load the bot again to decode here"
            )
        decoding = decoding or self.decoding
        with self._model_lock, torch.inference_mode():
            ctx = self.scoring_context(dialogues)
            ctx.max_length = decoding.max_length
            candidates = decoding.decoder(ctx, decoding.step_rescorers)
            for row in candidates:
                for candidate in row:
                    candidate.text = self.tokenizer.decode(candidate.token_ids)
                    if decoding.written:
                        candidate.text = self.tokenizer.written(candidate.text)
            return apply_candidate_rescorers(ctx, decoding.candidate_rescorers, candidates)

    def release_models(self) -> None:
        """Free the weights of the model and the extra models, when another process decodes for
        this bot (``serve``'s decode process); :meth:`generate` refuses to run afterwards."""
        with self._model_lock:
            for model in (self.model, *self.extra_models.values()):
                forget_weight_copies(model)
                model.to("meta")
            self.checkpoint.state_dict.clear()
            self._released = True
        return_freed_memory()

    def best_candidates(
        self,
        dialogues: Sequence[Sequence[str]],
        decoding: Decoding | None = None,
        batch_size: int = 32,
    ) -> list[Candidate]:
        """The best candidate for each dialogue (an empty one when there is none), decoding
        ``batch_size`` dialogues at a time."""
        best: list[Candidate] = []
        for start in range(0, len(dialogues), batch_size):
            for candidates in self.generate(dialogues[start : start + batch_size], decoding):
                best.append(candidates[0] if candidates else Candidate(token_ids=[], score=0.0))
        return best

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
