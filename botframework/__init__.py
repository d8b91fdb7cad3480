"""botframework: a plugin-based Messenger bot framework with a seq2seq chatbot behind it.

The public API, for users and plugin authors alike (built-in plugins use only these names)::

    from botframework import Bot
    Bot.load("bots/chitchat.yaml").reply("hi")

Only ``hookimpl``, ``hookspec`` and ``__version__`` are imported with the package; every other
name is imported on first use, so a plugin module that writes ``from botframework import hookimpl``
does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from botframework.hookspecs import hookimpl, hookspec
from botframework.version import __version__

if TYPE_CHECKING:
    from botframework.bot import Bot
    from botframework.config import BotConfig, ConfigError
    from botframework.data.corpus import CorpusError, CorpusReader, Pair
    from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer
    from botframework.decoding.candidate import Candidate, candidate_from_parts
    from botframework.decoding.context import LanguageModelRows, ScoringContext
    from botframework.decoding.decoder_batch import (
        DecoderBatch,
        language_model_at,
        language_model_log_probs,
    )
    from botframework.decoding.loop import Search, chosen_parts, rescore, run_search
    from botframework.decoding.precision import OUTPUT_DTYPES, bfloat16_output, output_precision
    from botframework.decoding.row_topk import group_topk, near_row_maxima, row_topk
    from botframework.decoding.rescorer import (
        CandidateRescorer,
        StepRescorer,
        TokenBan,
        apply_candidate_rescorers,
        apply_step_rescorers,
    )
    from botframework.evaluation.reply_quality import (
        MAY_REPEAT,
        ONE_GREETING,
        REPEATABLE_WORDS,
        ends_badly,
        farewell_words_after,
        greeting_words_after,
        opens_with_greeting,
        says_farewell,
    )
    from botframework.evaluation.run import EvalRun
    from botframework.messenger.send_api import AiohttpTransport
    from botframework.pipeline import Conversation, Event, IncomingMessage, MessagePipeline, Reply
    from botframework.reinforce.context import RewardContext
    from botframework.reply_parts import Button, Element, Handover, Media, QuickReply
    from botframework.reinforce.simulation import SimulatedDialogue
    from botframework.tensors import pad_sequences
    from botframework.validation import is_finite_number
    from botframework.text import (
        DEFAULT_DULL_REPLIES,
        contains_phrase,
        distinct_n,
        dull_rate,
        is_dull,
        ngrams,
        words,
    )

#: Every public name imported on first use, and the module it comes from.
_LAZY: dict[str, str] = {
    "Bot": "botframework.bot",
    "BotConfig": "botframework.config",
    "ConfigError": "botframework.config",
    "CorpusError": "botframework.data.corpus",
    "CorpusReader": "botframework.data.corpus",
    "Pair": "botframework.data.corpus",
    "SPECIAL_TOKENS": "botframework.data.tokenizer",
    "Tokenizer": "botframework.data.tokenizer",
    "Candidate": "botframework.decoding.candidate",
    "candidate_from_parts": "botframework.decoding.candidate",
    "ScoringContext": "botframework.decoding.context",
    "DecoderBatch": "botframework.decoding.decoder_batch",
    "language_model_log_probs": "botframework.decoding.decoder_batch",
    "language_model_at": "botframework.decoding.decoder_batch",
    "LanguageModelRows": "botframework.decoding.context",
    "Search": "botframework.decoding.loop",
    "chosen_parts": "botframework.decoding.loop",
    "rescore": "botframework.decoding.loop",
    "run_search": "botframework.decoding.loop",
    "bfloat16_output": "botframework.decoding.precision",
    "output_precision": "botframework.decoding.precision",
    "OUTPUT_DTYPES": "botframework.decoding.precision",
    "row_topk": "botframework.decoding.row_topk",
    "near_row_maxima": "botframework.decoding.row_topk",
    "group_topk": "botframework.decoding.row_topk",
    "CandidateRescorer": "botframework.decoding.rescorer",
    "StepRescorer": "botframework.decoding.rescorer",
    "TokenBan": "botframework.decoding.rescorer",
    "every_row": "botframework.decoding.rescorer",
    "apply_candidate_rescorers": "botframework.decoding.rescorer",
    "apply_step_rescorers": "botframework.decoding.rescorer",
    "EvalRun": "botframework.evaluation.run",
    "Conversation": "botframework.pipeline",
    "Event": "botframework.pipeline",
    "IncomingMessage": "botframework.pipeline",
    "MessagePipeline": "botframework.pipeline",
    "Reply": "botframework.pipeline",
    "Button": "botframework.reply_parts",
    "Element": "botframework.reply_parts",
    "Handover": "botframework.reply_parts",
    "Media": "botframework.reply_parts",
    "QuickReply": "botframework.reply_parts",
    "RewardContext": "botframework.reinforce.context",
    "SimulatedDialogue": "botframework.reinforce.simulation",
    "AiohttpTransport": "botframework.messenger.send_api",
    "pad_sequences": "botframework.tensors",
    "DEFAULT_DULL_REPLIES": "botframework.text",
    "contains_phrase": "botframework.text",
    "distinct_n": "botframework.text",
    "dull_rate": "botframework.text",
    "is_dull": "botframework.text",
    "ngrams": "botframework.text",
    "words": "botframework.text",
    "is_finite_number": "botframework.validation",
    "REPEATABLE_WORDS": "botframework.evaluation.reply_quality",
    "MAY_REPEAT": "botframework.evaluation.reply_quality",
    "ONE_GREETING": "botframework.evaluation.reply_quality",
    "ends_badly": "botframework.evaluation.reply_quality",
    "greeting_words_after": "botframework.evaluation.reply_quality",
    "farewell_words_after": "botframework.evaluation.reply_quality",
    "says_farewell": "botframework.evaluation.reply_quality",
    "opens_with_greeting": "botframework.evaluation.reply_quality",
}

__all__ = sorted([*_LAZY, "__version__", "hookimpl", "hookspec"])


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'botframework' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
