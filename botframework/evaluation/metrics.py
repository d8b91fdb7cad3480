"""Dialogue metrics shared by reinforcement learning and ``botframework eval``.

* distinct-n (Li et al., 2016): distinct n-grams over all replies / total n-grams over all replies;
* the dull (generic) reply list, one for RL and evaluation: ``reinforce.dull_replies`` in the bot
  YAML, :data:`DEFAULT_DULL_REPLIES` when unset; :func:`is_dull` and :func:`dull_rate` use it;
* eval's generic-reply rate uses that list extended by :data:`GENERIC_REPLIES`
  (:func:`generic_replies`);
* word-level perplexity: exp(total negative log-likelihood of the reply tokens, EOS included, /
  (whitespace words + 1)), comparable across tokenizers because it counts words, not tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import torch

from botframework.config.schema import ReinforceConfig
from botframework.data.encoding import encode_source
from botframework.tensors import pad_sequences

if TYPE_CHECKING:
    from botframework.data.corpus import Pair
    from botframework.data.tokenizer import Tokenizer
    from botframework.model.seq2seq import Seq2Seq

#: The dull replies a bot uses when its YAML sets no ``reinforce.dull_replies``.
DEFAULT_DULL_REPLIES: tuple[str, ...] = tuple(ReinforceConfig().dull_replies)

#: Short generic replies ``eval`` counts as well, on top of the dull list.
GENERIC_REPLIES: tuple[str, ...] = ("i don't know", "me too", "i think so", "yes", "ok")

_WORD = re.compile(r"\w+(?:'\w+)*")


def spread(items: list, limit: int) -> list:
    """At most ``limit`` items, evenly spread over ``items`` (so not all from one conversation)."""
    if len(items) <= limit:
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation: how replies are compared with each other."""
    return _WORD.findall(text.lower().replace("’", "'"))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(replies: Iterable[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all ``replies`` (whitespace tokens); 0 when none."""
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    counts: Counter[tuple[str, ...]] = Counter()
    for reply in replies:
        counts.update(ngrams(reply.split(), n))
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def is_dull(reply: str, dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> bool:
    """Whether ``reply`` is generic: empty, or a dull reply that makes up at least half its words.

    "i don't know ." and "i don't know , sorry" are dull; "i don't know the answer to that
    riddle but i love riddles" is not.
    """
    said = words(reply)
    if not said:
        return True
    for dull in dull_replies:
        phrase = words(dull)
        if 2 * len(phrase) >= len(said) and _contains(said, phrase):
            return True
    return False


def _contains(sequence: list[str], part: list[str]) -> bool:
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


def dull_rate(replies: Sequence[str], dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> float:
    """The share of ``replies`` that :func:`is_dull`; 0 for no replies."""
    dull_replies = list(dull_replies)
    return sum(is_dull(r, dull_replies) for r in replies) / len(replies) if replies else 0.0


def generic_replies(dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> list[str]:
    """The dull list followed by those of :data:`GENERIC_REPLIES` it lacks."""
    replies = list(dull_replies)
    return replies + [reply for reply in GENERIC_REPLIES if reply not in replies]


def word_overlap(reply: str, previous: str) -> float:
    """The share of the distinct words of ``reply`` that ``previous`` holds too (0 when empty)."""
    said = set(words(reply))
    return len(said & set(words(previous))) / len(said) if said else 0.0


def word_perplexity(
    model: Seq2Seq,
    tokenizer: Tokenizer,
    pairs: Sequence[Pair],
    max_source_length: int,
    batch_size: int = 64,
) -> float:
    """exp(total NLL of every reply's tokens, EOS included / total (whitespace words + 1)).

    Replies are scored whole (not cut to the training length) under the full softmax.
    """
    nll, units = 0.0, 0
    device = next(model.parameters()).device
    model.eval()
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        sources = [encode_source(tokenizer, p.context, max_source_length) for p in chunk]
        targets = [tokenizer.encode(p.reply) + [tokenizer.eos_id] for p in chunk]
        pad = tokenizer.pad_id
        with torch.no_grad():
            log_probs = model.sequence_log_probs(
                *pad_sequences(sources, pad, device), *pad_sequences(targets, pad, device)
            )
        nll -= float(log_probs.sum())
        units += sum(len(p.reply.split()) + 1 for p in chunk)
    return math.exp(min(nll / units, 700.0)) if units else math.nan
