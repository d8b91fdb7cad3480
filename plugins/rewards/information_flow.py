"""Information flow (r2): an agent should say something new each time it speaks."""

from __future__ import annotations

import math

import torch

from botframework import RewardContext, hookimpl


class InformationFlow:
    """r2 = -log cos(h_p, h_a): h_a encodes the reply, h_p the same agent's previous turn (two
    turns back; the corpus prompt counts as the other agent's first turn). 0 for the first reply,
    which has no previous turn of its agent.

    Each turn is encoded alone by the judge's encoder, and h is the encoder's **final hidden state
    of its top layer**: the vector the decoder starts from, i.e. the model's own summary of the
    turn (for an LSTM, the hidden state, not the cell). Lower layers keep more surface detail and the
    attention memory is per token, so neither is a sentence representation.

    The cosine is clamped to [``epsilon``, 1] before the log: states at right angles or opposite
    would otherwise give an infinite or undefined reward. ``epsilon`` = 0.01 caps r2 at
    -log(0.01) ≈ 4.6, on the scale of the log-likelihood terms of r1 and r3.
    """

    def __init__(self, epsilon: float = 0.01) -> None:
        if not isinstance(epsilon, (int, float)) or not 0 < epsilon < 1:
            raise ValueError(f"epsilon must be in (0, 1), got {epsilon!r}")
        self.epsilon = float(epsilon)

    def __call__(self, ctx: RewardContext) -> float:
        previous = ctx.previous_own_turn
        if previous is None:
            return 0.0
        states = ctx.encoder_states([[previous], [ctx.reply]])
        cosine = float(torch.cosine_similarity(states[0], states[1], dim=0))
        return -math.log(min(max(cosine, self.epsilon), 1.0))


@hookimpl
def register_reward_rules(register) -> None:
    register("information_flow", InformationFlow)
