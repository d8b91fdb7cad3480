"""Decoding configurations compared on the same prompts: what beam search, anti-LM, the length
bonus and MMI-bidi do to one checkpoint's replies.

Each configuration edits the bot's YAML ``decoding`` section (other rescorers, e.g. ``no_unknown``,
stay). The anti-LM, length-bonus and MMI-bidi arguments are the YAML's when it lists that rescorer,
else the rescorer's own defaults.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botframework.decoding.settings import rescorer_args, set_decoding
from botframework.config.schema import BotConfig, NamedPart
from botframework.data.tokenizer import SPECIAL_TOKENS
from botframework.evaluation.bleu import corpus_bleu
from botframework.evaluation.relevance import relevance_or_nan
from botframework.evaluation.reply_quality import (
    average_words,
    broken_rate,
    copy_rate,
    farewell_rate,
    format_rate,
    greeting_rate,
)
from botframework.text import distinct_n, dull_rate, generic_replies, words

if TYPE_CHECKING:
    from botframework.bot import Bot

BEAM_SIZE = 10
#: Configuration names, each adding a step to the one before (greedy stands alone).
CONFIGS: dict[str, str] = {
    "greedy": "greedy",
    "beam": f"beam {BEAM_SIZE}",
    "antilm": f"beam {BEAM_SIZE} + anti-LM",
    "length_bonus": "+ length bonus",
    "mmi": "+ MMI-bidi",
}
_ADDED = {"antilm": "antilm", "length_bonus": "length_bonus", "mmi": "mmi_bidi"}
_STEPS = list(CONFIGS)[1:]


@dataclass
class ConfigResult:
    """One configuration's replies to the prompts and how long they took."""

    name: str
    label: str
    replies: list[str]
    seconds: float


def default_configs(bot: Bot) -> list[str]:
    """Every configuration, MMI-bidi only when the bot has a reverse model."""
    return [name for name in CONFIGS if name != "mmi" or "reverse" in bot.extra_models]


def check_configs(names: Sequence[str], bot: Bot) -> None:
    from botframework.config.loader import ConfigError

    for name in names:
        if name not in CONFIGS:
            raise ConfigError(
                f"--configs: unknown configuration {name!r}; known: {', '.join(CONFIGS)}"
            )
    if "mmi" in names and "reverse" not in bot.extra_models:
        raise ConfigError(
            "--configs: 'mmi' needs a reverse model: `botframework train BOT --reverse` first"
        )


def decoding_config(config: BotConfig, name: str) -> BotConfig:
    """The bot's configuration with the decoding of configuration ``name``."""
    used = _STEPS[: _STEPS.index(name) + 1] if name in _STEPS else []
    stripped = set_decoding(
        config, beam_size=1 if name == "greedy" else BEAM_SIZE, antilm=0, length_bonus=0
    )
    decoding = stripped.decoding.model_copy(deep=True)
    rescorers = [r for r in decoding.rescorers if r.name != "mmi_bidi"]
    for step in used[1:]:
        rescorer = _ADDED[step]
        rescorers.append(NamedPart(name=rescorer, args=rescorer_args(config, rescorer)))
    decoding.rescorers = rescorers
    return stripped.model_copy(update={"decoding": decoding})


def decode_configs(bot: Bot, prompts: list[list[str]], names: Sequence[str]) -> list[ConfigResult]:
    """Every configuration's best reply to every prompt (empty when it has none)."""
    results = []
    for name in names:
        decoding = bot.build_decoding(decoding_config(bot.config, name))
        started = time.perf_counter()
        replies = [candidate.text for candidate in bot.best_candidates(prompts, decoding)]
        seconds = time.perf_counter() - started
        results.append(ConfigResult(name, CONFIGS[name], replies, seconds))
    return results


@dataclass
class ConfigContext:
    """What the per-configuration metrics need besides the replies."""

    references: list[str] | None
    generic_replies: list[str]
    bleu_tokenize: str = "13a"
    default_generic_replies: list[str] = field(default_factory=generic_replies)
    prompts: list[str] | None = None  # the turn each reply answers
    #: How a reply is cut into words (the bot's :meth:`~botframework.Tokenizer.reply_words`).
    words: Callable[[str], list[str]] = words


def distinct_1(result: ConfigResult, context: ConfigContext) -> float:
    return distinct_n(result.replies, 1, context.words)


def distinct_2(result: ConfigResult, context: ConfigContext) -> float:
    return distinct_n(result.replies, 2, context.words)


def average_length(result: ConfigResult, context: ConfigContext) -> float:
    """Words per reply, as the bot's tokenizer counts them (punctuation left out)."""
    return average_words(result.replies, context.words)


def generic_rate(result: ConfigResult, context: ConfigContext) -> float:
    """Against the bot's ``reinforce.dull_replies`` plus the short generic replies."""
    return dull_rate(result.replies, context.generic_replies)


def default_generic_rate(result: ConfigResult, context: ConfigContext) -> float:
    """Against the default dull list plus the short generic replies: comparable across bots."""
    return dull_rate(result.replies, context.default_generic_replies)


def top_reply_share(result: ConfigResult, context: ConfigContext) -> float:
    """The share of the replies that are the most frequent one."""
    counts = Counter(" ".join(r.lower().split()) for r in result.replies)
    return counts.most_common(1)[0][1] / len(result.replies) if result.replies else 0.0


def bleu(result: ConfigResult, context: ConfigContext) -> float:
    """Corpus BLEU (:func:`~botframework.evaluation.bleu.corpus_bleu`) against the true replies;
    NaN without them."""
    if not context.references:
        return math.nan
    return corpus_bleu(result.replies, context.references, context.bleu_tokenize)


def special_token_rate(result: ConfigResult, context: ConfigContext) -> float:
    """The share of the replies that show an unknown-word marker or another special token."""
    shown = [any(token in reply for token in SPECIAL_TOKENS) for reply in result.replies]
    return sum(shown) / len(shown) if shown else 0.0


def replies_per_second(result: ConfigResult, context: ConfigContext) -> float:
    return len(result.replies) / result.seconds if result.seconds > 0 else math.nan


def broken_reply_rate(result: ConfigResult, context: ConfigContext) -> float:
    return broken_rate(result.replies)


def reply_copy_rate(result: ConfigResult, context: ConfigContext) -> float:
    return copy_rate(context.prompts, result.replies) if context.prompts else math.nan


def reply_greeting_rate(result: ConfigResult, context: ConfigContext) -> float:
    return greeting_rate(context.prompts, result.replies) if context.prompts else math.nan


def reply_farewell_rate(result: ConfigResult, context: ConfigContext) -> float:
    return farewell_rate(context.prompts, result.replies) if context.prompts else math.nan


def well_formatted(result: ConfigResult, context: ConfigContext) -> float:
    return format_rate(result.replies)


def relevance(result: ConfigResult, context: ConfigContext) -> float:
    return relevance_or_nan(context.prompts, result.replies) if context.prompts else math.nan


ConfigMetric = Callable[[ConfigResult, ConfigContext], float]
#: The rows of the configurations table, in order.
CONFIG_METRICS: dict[str, ConfigMetric] = {
    "distinct-1": distinct_1,
    "distinct-2": distinct_2,
    "average length (words)": average_length,
    "generic-reply rate": generic_rate,
    "generic-reply rate, default list": default_generic_rate,
    "broken-reply rate": broken_reply_rate,
    "copy rate": reply_copy_rate,
    "greeting rate": reply_greeting_rate,
    "farewell rate": reply_farewell_rate,
    "well-formatted share": well_formatted,
    "relevance": relevance,
    "most frequent reply share": top_reply_share,
    "BLEU": bleu,
    "replies with unknown or special tokens": special_token_rate,
    "replies per second": replies_per_second,
}


def measure_configs(
    bot: Bot,
    results: Sequence[ConfigResult],
    references: list[str] | None,
    prompts: list[str] | None = None,
) -> list[dict[str, float]]:
    """Every metric of :data:`CONFIG_METRICS` for every configuration (``prompts``: the turn
    each reply answers, for the copy rate and relevance)."""
    generic = generic_replies(bot.config.reinforce.dull_replies)
    tokenizer = bot.tokenizer
    context = ConfigContext(
        references, generic, tokenizer.bleu_tokenize, prompts=prompts, words=tokenizer.reply_words
    )
    return [{name: metric(r, context) for name, metric in CONFIG_METRICS.items()} for r in results]
