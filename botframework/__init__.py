"""botframework: a plugin-based Messenger bot framework with a seq2seq chatbot behind it.

The public API, for users and plugin authors alike (built-in plugins use only these names)::

    from botframework import Bot
    Bot.load("bots/chitchat.yaml").reply("hi")
"""

from typing import TYPE_CHECKING, Any

from botframework.config import BotConfig, ConfigError
from botframework.data.corpus import CorpusError, CorpusReader, Pair
from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer
from botframework.decoding.candidate import Candidate
from botframework.decoding.context import ScoringContext
from botframework.decoding.decoder_batch import DecoderBatch, language_model_log_probs
from botframework.decoding.precision import bfloat16_output
from botframework.decoding.rescorer import (
    CandidateRescorer,
    StepRescorer,
    apply_candidate_rescorers,
    apply_step_rescorers,
)
from botframework.evaluation.metrics import DEFAULT_DULL_REPLIES, distinct_n, dull_rate, is_dull
from botframework.evaluation.run import EvalRun
from botframework.hookspecs import hookimpl, hookspec
from botframework.pipeline import Conversation, Event, IncomingMessage, MessagePipeline, Reply
from botframework.reinforce.context import RewardContext
from botframework.reinforce.simulation import SimulatedDialogue
from botframework.tensors import pad_sequences
from botframework.version import __version__

if TYPE_CHECKING:
    from botframework.bot import Bot

__all__ = [
    "DEFAULT_DULL_REPLIES",
    "SPECIAL_TOKENS",
    "Bot",
    "BotConfig",
    "Candidate",
    "CandidateRescorer",
    "ConfigError",
    "Conversation",
    "CorpusError",
    "CorpusReader",
    "DecoderBatch",
    "EvalRun",
    "Event",
    "IncomingMessage",
    "MessagePipeline",
    "Pair",
    "Reply",
    "RewardContext",
    "ScoringContext",
    "SimulatedDialogue",
    "StepRescorer",
    "Tokenizer",
    "__version__",
    "apply_candidate_rescorers",
    "apply_step_rescorers",
    "bfloat16_output",
    "distinct_n",
    "dull_rate",
    "hookimpl",
    "hookspec",
    "is_dull",
    "language_model_log_probs",
    "pad_sequences",
]


def __getattr__(name: str) -> Any:
    # Bot pulls in torch and the built-in plugins; import it only when asked for.
    if name == "Bot":
        from botframework.bot import Bot

        return Bot
    raise AttributeError(f"module 'botframework' has no attribute {name!r}")
