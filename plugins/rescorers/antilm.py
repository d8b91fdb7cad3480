"""MMI-antiLM (Li et al., 2016): score(T) = log p(T|S) − λ·log U(T) over the first g tokens."""

from __future__ import annotations

import math

import torch

from botframework import ScoringContext, StepRescorer, hookimpl, language_model_log_probs


class AntiLanguageModel(StepRescorer):
    """Subtract ``weight`` (λ) times the language-model log-probability of each next token.

    U is the same decoder with an empty source; it is a language model of replies when the model
    was trained with ``training.empty_source_rate`` (else the decoder reads a source it never saw,
    and a large λ gives word salad). Only the first ``first_tokens`` (g) steps are
    penalised: the first words decide the rest of a reply, and penalising later ones makes replies
    ungrammatical. Decoders built on :class:`botframework.DecoderBatch` run U as extra rows of
    their batched step (``language_model_steps`` tells them for how many steps).
    """

    def __init__(self, weight: float = 0.5, first_tokens: int = 3) -> None:
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(f"weight (λ) must be a finite number of at least 0, got {weight!r}")
        if isinstance(first_tokens, bool) or not isinstance(first_tokens, int) or first_tokens < 1:
            raise ValueError(f"first_tokens (g) must be a positive integer, got {first_tokens!r}")
        self.weight, self.first_tokens = float(weight), first_tokens
        self.language_model_steps = first_tokens if weight else 0

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        if ctx.step >= self.language_model_steps:
            return log_probs
        return log_probs - self.weight * language_model_log_probs(ctx, prefixes)


@hookimpl
def register_rescorers(register) -> None:
    register("antilm", AntiLanguageModel)
