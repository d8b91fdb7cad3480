"""One checkpoint on the held-out prompts: what every evaluation metric receives."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import torch

from botframework.config.schema import ReinforceConfig
from botframework.data.corpus import Pair
from botframework.decoding.candidate import Candidate
from botframework.evaluation.bigram import KneserNeyBigram, fit_replies
from botframework.evaluation.metrics import word_perplexity
from botframework.reinforce.rewards import RewardScorer
from botframework.reinforce.simulation import SimulatedDialogue, simulate

if TYPE_CHECKING:
    from botframework.bot import Bot

#: Dialogues decoded per call of the bot's decoder.
BATCH_SIZE = 32


@dataclass
class EvalRun:
    """A bot with one checkpoint, evaluated on ``prompts`` (each a list of turns, prompt last).

    ``references`` holds the true reply of each prompt when known (else None). ``scorer`` scores
    simulated turns with the bot's reward rules, judged by one model for every checkpoint (None
    when no rule can run); ``skipped_rules`` names the rules left out and why. :attr:`replies` and
    :attr:`simulations` use the bot's configured decoder (``--set decoding...`` changes it) and are
    computed on first use, then shared by every metric.
    """

    label: str
    bot: Bot
    prompts: list[list[str]]
    references: list[str] | None = None
    scorer: RewardScorer | None = None
    skipped_rules: dict[str, str] = field(default_factory=dict)
    seed: int = 0
    bigram: Callable[[], KneserNeyBigram] | None = None

    @property
    def settings(self) -> ReinforceConfig:
        """The bot's ``reinforce`` section: dull replies, turn cap, repetition threshold."""
        return self.bot.config.reinforce

    @property
    def pairs(self) -> list[Pair] | None:
        if self.references is None:
            return None
        return [Pair(tuple(p), r) for p, r in zip(self.prompts, self.references, strict=True)]

    @cached_property
    def perplexity(self) -> float:
        """The model's word-level perplexity of the true replies (NaN without them)."""
        if not self.pairs:
            return math.nan
        pairs = [Pair(tuple(self.bot.prompt_turns(p.context)), p.reply) for p in self.pairs]
        limit = self.bot.trained_config.corpus.max_source_length
        return word_perplexity(self.bot.model, self.bot.tokenizer, pairs, limit)

    @cached_property
    def bigram_baseline(self) -> KneserNeyBigram:
        """The Kneser-Ney bigram model of the replies of the bot's training split."""
        if self.bigram is not None:
            return self.bigram()
        return fit_replies(self.bot.tokenizer, training_replies(self.bot))

    @cached_property
    def replies(self) -> list[str]:
        """The best reply to every prompt."""
        torch.manual_seed(self.seed)  # the same draws for every checkpoint with a sampling decoder
        return [turn.text for turn in self.respond(self.prompts)]

    @cached_property
    def simulations(self) -> list[SimulatedDialogue[Candidate]]:
        """Two copies of the bot talking from every prompt, up to ``reinforce.max_turns`` turns."""
        s = self.settings
        torch.manual_seed(self.seed)
        return simulate(
            self.respond, self.prompts, s.max_turns, s.dull_replies, s.repetition_threshold
        )

    @cached_property
    def turn_rewards(self) -> list[dict[str, float]]:
        """Every rule's value for every simulated turn (empty without a scorer), all the turns
        being one batch (``RewardContext.batch_replies``)."""
        if self.scorer is None:
            return []
        batch = tuple(text for dialogue in self.simulations for text in dialogue.texts)
        return [
            self.scorer.score(history, turn.text, batch)
            for dialogue in self.simulations
            for history, turn in dialogue.steps()
        ]

    def respond(self, dialogues: list[list[str]]) -> list[Candidate]:
        """The bot's best candidate for each dialogue (an empty one when it has none)."""
        return self.bot.best_candidates(dialogues, batch_size=BATCH_SIZE)


def training_replies(bot: Bot) -> list[str]:
    """The replies of the training split of the bot's corpus (held-out conversations left out)."""
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import read_conversations

    conversations = read_conversations(bot.definition, bot.parts)
    data = DialogueDataModule(bot.config, bot.tokenizer, conversations)
    return [pair.reply for pair in data.train_pairs]
