"""The reward rules a bot YAML turns on, weighted, and scoring replies with them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from botframework.config.loader import ConfigError
from botframework.config.schema import BotConfig, RewardEntry
from botframework.data.encoding import encode_source
from botframework.data.tokenizer import Tokenizer
from botframework.data.turns import last_turns
from botframework.model.seq2seq import Seq2Seq
from botframework.reinforce.context import RewardContext

if TYPE_CHECKING:
    from botframework.bot import LoadedPlugins

#: The rules and weights of Li et al. (2016), used when a bot YAML lists no ``rewards``.
DEFAULT_REWARDS: tuple[RewardEntry, ...] = (
    RewardEntry(name="ease_of_answering", weight=0.25),
    RewardEntry(name="information_flow", weight=0.25),
    RewardEntry(name="semantic_coherence", weight=0.5),
)

RewardRule = Callable[[RewardContext], float]

#: How a bot gets each model of ``extra_models`` a rule may require.
MODEL_SOURCES: dict[str, str] = {"reverse": "train it with `botframework train BOT --reverse`"}


@dataclass
class WeightedRule:
    """A reward rule built from the YAML, with the label its values are logged under."""

    label: str
    weight: float
    rule: RewardRule

    @property
    def required_models(self) -> tuple[str, ...]:
        return tuple(getattr(self.rule, "required_models", ()) or ())

    @property
    def required_models_hint(self) -> str:
        return str(getattr(self.rule, "required_models_hint", "") or "")


def build_reward_rules(loaded: LoadedPlugins) -> list[WeightedRule]:
    """The YAML's ``rewards`` (or :data:`DEFAULT_REWARDS` when it lists none), built."""
    where = str(loaded.definition.path)
    entries = loaded.config.rewards or list(DEFAULT_REWARDS)
    rules: list[WeightedRule] = []
    for index, entry in enumerate(entries):
        rule = loaded.parts.reward_rules.create(entry.name, entry.args, f"{where}: rewards.{index}")
        taken = {r.label for r in rules}
        label = entry.name if entry.name not in taken else f"{entry.name}_{index}"
        rules.append(WeightedRule(label, entry.weight, rule))
    return rules


def check_required_models(
    rules: Sequence[WeightedRule], available: Sequence[str], where: str
) -> None:
    """A :class:`ConfigError` naming the first rule whose models the bot lacks."""
    for rule in rules:
        missing = [name for name in rule.required_models if name not in available]
        if missing:
            ways = [MODEL_SOURCES[name] for name in missing if name in MODEL_SOURCES]
            ways += [rule.required_models_hint] if rule.required_models_hint else []
            hint = f" ({', '.join(ways)})" if ways else ""
            raise ConfigError(
                f"{where}: rewards: {rule.label!r} needs the model(s) {', '.join(missing)}, "
                f"which this bot does not have{hint}"
            )


class RewardScorer:
    """Scores replies of simulated dialogues with weighted rules, judged by a frozen model."""

    def __init__(
        self,
        rules: Sequence[WeightedRule],
        judge: Seq2Seq,
        tokenizer: Tokenizer,
        trained_config: BotConfig,
        dull_replies: Sequence[str],
        extra_models: dict[str, Seq2Seq] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.judge = judge.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.extra_models = dict(extra_models or {})
        self.context_turns = trained_config.corpus.context_turns
        self.max_source_length = trained_config.corpus.max_source_length
        self.dull_replies = tuple(dull_replies)

    @property
    def labels(self) -> list[str]:
        return [rule.label for rule in self.rules]

    def to(self, device: torch.device | str) -> RewardScorer:
        self.judge.to(device)
        for model in self.extra_models.values():
            model.to(device)
        return self

    def context(
        self, history: Sequence[str], reply: str, batch_replies: Sequence[str] = ()
    ) -> RewardContext:
        """The context of ``reply`` answering the turns ``history`` (the prompt first), scored
        with the replies ``batch_replies`` (see :attr:`RewardContext.batch_replies`)."""
        turns = last_turns(history, self.context_turns)
        ids = encode_source(self.tokenizer, turns, self.max_source_length)
        return RewardContext(
            model=self.judge,
            tokenizer=self.tokenizer,
            source_ids=torch.tensor([ids]),
            source_lengths=torch.tensor([len(ids)]),
            dialogues=[list(history)],
            extra_models=self.extra_models,
            reply=reply,
            context_turns=self.context_turns,
            max_source_length=self.max_source_length,
            dull_replies=self.dull_replies,
            batch_replies=tuple(batch_replies),
        )

    def score(
        self, history: Sequence[str], reply: str, batch_replies: Sequence[str] = ()
    ) -> dict[str, float]:
        """Every rule's value for ``reply``, by label (``batch_replies``: every reply scored with
        it, this one included)."""
        values = {}
        for rule in self.rules:
            value = rule.rule(self.context(history, reply, batch_replies))
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                value = value.item()
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(
                    f"reward rule {rule.label!r} returned {value!r}, not a finite number"
                )
            values[rule.label] = float(value)
        return values

    def total(self, values: dict[str, float]) -> float:
        """The weighted sum of one reply's rule values."""
        return sum(rule.weight * values[rule.label] for rule in self.rules)
