"""Batch rarity: pays for replies that few others of the same batch begin like."""

from __future__ import annotations

from botframework import RewardContext, hookimpl, words


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


@hookimpl
def register_reward_rules(register) -> None:
    register("batch_rarity", BatchRarity)
