"""The baseline of ``eval``'s perplexity: an interpolated Kneser-Ney bigram model of replies.

For a context ``v`` seen ``c(v)`` times, followed by ``N1+(v•)`` different tokens::

    p(w | v) = max(c(v, w) - d, 0) / c(v) + d * N1+(v•) / c(v) * p_cont(w)

and ``p(w | v) = p_cont(w)`` for an unseen context. The continuation probability counts in how many
different contexts ``w`` appears, discounted too, and gives the mass it frees to a uniform
distribution over the whole vocabulary, so that unseen tokens keep a probability::

    p_cont(w) = max(N1+(•w) - d, 0) / N1+(••) + d * |{w: N1+(•w) > 0}| / N1+(••) / V

Every reply starts after a begin marker and ends with an end marker, which is predicted like a word.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botframework.data.tokenizer import Tokenizer


class KneserNeyBigram:
    """Interpolated Kneser-Ney bigrams over a vocabulary of ``vocab_size`` token types.

    ``bos`` and ``eos`` mark the start and the end of every sequence; ``eos`` is one of the
    ``vocab_size`` types that :meth:`prob` gives a probability to, ``bos`` is only a context.
    """

    def __init__(
        self, vocab_size: int, bos: Hashable, eos: Hashable, discount: float = 0.75
    ) -> None:
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be a positive integer, got {vocab_size}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be between 0 and 1 (exclusive), got {discount}")
        self.vocab_size = vocab_size
        self.bos, self.eos, self.discount = bos, eos, discount
        self.bigrams: Counter[tuple[Hashable, Hashable]] = Counter()
        self.context_counts: Counter[Hashable] = Counter()
        self.followers: Counter[Hashable] = Counter()  # N1+(v•)
        self.continuations: Counter[Hashable] = Counter()  # N1+(•w)

    def fit(self, sequences: Iterable[Sequence[Hashable]]) -> KneserNeyBigram:
        """Count the bigrams of every sequence (without markers: they are added here)."""
        for sequence in sequences:
            self.bigrams.update(bigrams(sequence, self.bos, self.eos))
        self.context_counts, self.followers, self.continuations = Counter(), Counter(), Counter()
        for (context, word), count in self.bigrams.items():
            self.context_counts[context] += count
            self.followers[context] += 1
            self.continuations[word] += 1
        return self

    def continuation_prob(self, word: Hashable) -> float:
        types = len(self.bigrams)  # N1+(••)
        if not types:
            return 1 / self.vocab_size
        d = self.discount
        floor = d * len(self.continuations) / types / self.vocab_size
        return max(self.continuations[word] - d, 0) / types + floor

    def prob(self, word: Hashable, context: Hashable) -> float:
        """p(word | context), interpolated with the continuation probability."""
        seen = self.context_counts[context]
        if not seen:
            return self.continuation_prob(word)
        d = self.discount
        direct = max(self.bigrams[(context, word)] - d, 0) / seen
        return direct + d * self.followers[context] / seen * self.continuation_prob(word)

    def nll(self, sequence: Sequence[Hashable]) -> float:
        """The negative log-likelihood of ``sequence`` and its end marker."""
        return -sum(math.log(self.prob(w, v)) for v, w in bigrams(sequence, self.bos, self.eos))


def bigrams(
    sequence: Sequence[Hashable], bos: Hashable, eos: Hashable
) -> list[tuple[Hashable, Hashable]]:
    marked = [bos, *sequence, eos]
    return list(zip(marked, marked[1:]))


def fit_replies(tokenizer: Tokenizer, replies: Iterable[str]) -> KneserNeyBigram:
    """A bigram model of ``replies`` tokenised as the bot's model sees them (ids, then EOS)."""
    model = KneserNeyBigram(tokenizer.vocab_size, tokenizer.bos_id, tokenizer.eos_id)
    return model.fit(tokenizer.encode(reply) for reply in replies)


def bigram_word_perplexity(
    model: KneserNeyBigram, tokenizer: Tokenizer, replies: Sequence[str]
) -> float:
    """exp(total NLL of the replies' tokens, end marker included / total (whitespace words + 1)),
    the same normalisation as :func:`~botframework.evaluation.metrics.word_perplexity`."""
    units = sum(len(reply.split()) + 1 for reply in replies)
    if not units:
        return math.nan
    nll = sum(model.nll(tokenizer.encode(reply)) for reply in replies)
    return math.exp(min(nll / units, 700.0))

