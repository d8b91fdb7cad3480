"""A bonus of γ per reply token (the original project declared ``n_bonus`` but never applied it)."""

from __future__ import annotations

import torch

from botframework import ScoringContext, StepRescorer, hookimpl, is_finite_number


class LengthBonus(StepRescorer):
    """Add ``weight`` (γ) to every token but EOS, so a reply of N tokens gains γ·N.

    A positive γ favours longer replies (log-probabilities otherwise favour short, generic ones);
    a negative γ favours shorter ones.
    """

    def __init__(self, weight: float = 0.5) -> None:
        if not is_finite_number(weight):
            raise ValueError(f"weight (γ) must be a finite number, got {weight!r}")
        self.weight = float(weight)

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        bonus = torch.full_like(log_probs[:1], self.weight)
        bonus[0, ctx.tokenizer.eos_id] = 0.0
        return log_probs + bonus


@hookimpl
def register_rescorers(register) -> None:
    register("length_bonus", LengthBonus)
