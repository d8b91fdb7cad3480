"""Batch rarity: pays for replies that few others of the same batch begin like, or whose word
pairs few others use."""

from __future__ import annotations

from collections import Counter

from botframework import RewardContext, hookimpl, ngrams, words


class BatchRarity:
    """r = 1 - (the share of the batch's replies that begin with the same ``first_words`` words as
    this one, itself included).

    The batch is ``ctx.batch_replies``: every turn generated in the same RL step (all the
    simulations of ``eval``). A reply no other begins like earns 1 - 1/N; a stock opening that all
    N replies share earns 0, as does a reply scored alone. Words are lower-cased, punctuation left
    out. Without such a term the policy can settle on a few stock replies that the per-reply rules
    like (RL on the default bot halved distinct-2).
    """

    def __init__(self, first_words: int = 2) -> None:
        if type(first_words) is not int or first_words < 1:
            raise ValueError(f"first_words must be a positive integer, got {first_words!r}")
        self.first_words = first_words

    def opening(self, text: str) -> tuple[str, ...]:
        return tuple(words(text)[: self.first_words])

    def __call__(self, ctx: RewardContext) -> float:
        batch = ctx.batch_replies or (ctx.reply,)
        mine = self.opening(ctx.reply)
        return 1.0 - sum(self.opening(reply) == mine for reply in batch) / len(batch)


class BatchBigramRarity:
    """r = the share of this reply's distinct word bigrams that no other reply of the batch uses.

    Where :class:`BatchRarity` looks at openings only, this pays for what distinct-2 counts: a
    reply made of word pairs the rest of the batch also writes ("do you like", "i am not sure")
    earns little, whatever its first words. A reply of one word has no bigram and earns 0, as does
    a reply scored alone. A reply that appears twice in the batch shares all its bigrams, so both
    copies earn 0. Words as :class:`BatchRarity` reads them.
    """

    def __init__(self) -> None:
        self._batch: tuple[str, ...] = ()
        self._replies_using: Counter[tuple[str, ...]] = Counter()

    def replies_using(self, batch: tuple[str, ...]) -> Counter[tuple[str, ...]]:
        """How many replies of ``batch`` use each bigram; kept while the same batch is scored."""
        if batch != self._batch:
            self._batch = batch
            self._replies_using = Counter(
                bigram for reply in batch for bigram in set(ngrams(words(reply), 2))
            )
        return self._replies_using

    def __call__(self, ctx: RewardContext) -> float:
        mine = set(ngrams(words(ctx.reply), 2))
        if not mine or len(ctx.batch_replies) < 2:
            return 0.0
        using = self.replies_using(ctx.batch_replies)
        own = 1 if ctx.reply in ctx.batch_replies else 0  # the batch usually holds the reply itself
        return sum(using[bigram] - own == 0 for bigram in mine) / len(mine)


@hookimpl
def register_reward_rules(register) -> None:
    register("batch_rarity", BatchRarity)
    register("batch_bigram_rarity", BatchBigramRarity)
