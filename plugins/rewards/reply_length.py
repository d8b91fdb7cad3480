"""Reply length: keeps RL from drifting towards longer (or shorter) replies than wanted."""

from __future__ import annotations

from botframework import RewardContext, hookimpl, is_finite_number, words


class ReplyLength:
    """r = -max(0, |words - target| - tolerance) / target.

    Rules that pay for replies hard to answer dully, or rare across the batch, also pay for
    length: every RL run on the default bot made its replies longer, and a longer reply repeats
    more of the word pairs other replies use, which lowers distinct-2. This rule pays 0 inside
    ``target`` ± ``tolerance`` words and loses one unit per ``target`` words outside it. Words as
    :func:`botframework.words` reads them (punctuation left out).
    """

    def __init__(self, target: float, tolerance: float = 0.0) -> None:
        if not is_finite_number(target) or target <= 0:
            raise ValueError(f"target must be a positive number of words, got {target!r}")
        if not is_finite_number(tolerance) or tolerance < 0:
            raise ValueError(f"tolerance must be a number of words >= 0, got {tolerance!r}")
        self.target = float(target)
        self.tolerance = float(tolerance)

    def __call__(self, ctx: RewardContext) -> float:
        off_by = abs(len(words(ctx.reply)) - self.target) - self.tolerance
        return -max(0.0, off_by) / self.target


@hookimpl
def register_reward_rules(register) -> None:
    register("reply_length", ReplyLength)
