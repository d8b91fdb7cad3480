"""Ease of answering (r1): a reply should not invite a dull answer."""

from __future__ import annotations

from botframework import RewardContext, hookimpl


class EaseOfAnswering:
    """Minus the mean, over the dull replies S, of the length-normalised log-likelihood of each
    dull reply following the action: r1 = -(1/|S|) sum_s (1/N_s) log p(s | a).

    ``dull_replies`` defaults to the bot's ``reinforce.dull_replies`` (the list ``eval`` uses too);
    N_s counts the dull reply's tokens and its EOS. The model is the judge (the MLE model).
    """

    def __init__(self, dull_replies: list[str] | None = None) -> None:
        if dull_replies is not None:
            if not isinstance(dull_replies, list) or not dull_replies:
                raise ValueError(f"dull_replies must be a non-empty list, got {dull_replies!r}")
            if not all(isinstance(r, str) and r.strip() for r in dull_replies):
                raise ValueError("dull_replies must hold non-empty strings")
        self.dull_replies = dull_replies

    def __call__(self, ctx: RewardContext) -> float:
        dull = self.dull_replies or list(ctx.dull_replies)
        source = ctx.source_turns([*ctx.dialogue, ctx.reply])
        return -float(ctx.log_likelihood([source] * len(dull), dull).mean())


@hookimpl
def register_reward_rules(register) -> None:
    register("ease_of_answering", EaseOfAnswering)
