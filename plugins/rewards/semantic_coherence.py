"""Semantic coherence (r3): a reply should fit what it answers, and say back where it came from."""

from __future__ import annotations

from botframework import RewardContext, hookimpl


class SemanticCoherence:
    """r3 = (1/N_a) log p(a | q) + (1/N_q) log p_backward(q | a).

    The first term scores the reply a given the turns it answers under the judge (the MLE forward
    model); the second scores the turn answered, q, given the reply under the backward model
    (``extra_models["reverse"]``, trained by ``botframework train BOT --reverse``). N counts tokens
    and EOS. ``backward: false`` keeps the forward term only, for bots without a backward model.
    """

    def __init__(self, backward: bool = True) -> None:
        if not isinstance(backward, bool):
            raise ValueError(f"backward must be true or false, got {backward!r}")
        self.backward = backward
        #: Models the bot must have in ``extra_models`` for this rule (checked before RL starts).
        self.required_models = ("reverse",) if backward else ()
        #: How to do without them, for the error that names the missing model.
        self.required_models_hint = "or give the rule `backward: false`"

    def __call__(self, ctx: RewardContext) -> float:
        forward = float(ctx.log_likelihood([ctx.source_turns(ctx.dialogue)], [ctx.reply])[0])
        if not self.backward:
            return forward
        reverse = ctx.extra_models.get("reverse")
        if reverse is None:
            raise LookupError(
                "semantic_coherence needs a backward model: run `botframework train BOT --reverse`"
                " or give the rule `backward: false`"
            )
        return forward + float(ctx.log_likelihood([[ctx.reply]], [ctx.query], model=reverse)[0])


@hookimpl
def register_reward_rules(register) -> None:
    register("semantic_coherence", SemanticCoherence)
