"""MMI-antiLM (Li et al., 2016): score(T) = log p(T|S) − λ·log U(T) over the first g tokens."""

from __future__ import annotations

import math

import torch

from botframework import (
    ScoringContext,
    StepRescorer,
    hookimpl,
    is_finite_number,
    language_model_at,
    language_model_log_probs,
    near_row_maxima,
)


class AntiLanguageModel(StepRescorer):
    """Subtract ``weight`` (λ) times the language-model log-probability of each next token.

    U is the same decoder with an empty source; it is a language model of replies when the model
    was trained with ``training.empty_source_rate`` (else the decoder reads a source it never saw,
    and a large λ gives word salad). Only the first ``first_tokens`` (g) steps are
    penalised: the first words decide the rest of a reply, and penalising later ones makes replies
    ungrammatical. Decoders built on :class:`botframework.DecoderBatch` run U as extra rows of
    their batched step (``language_model_steps`` tells them for how many steps).

    With ``plausibility`` (α > 0), the penalised steps keep only tokens the model itself finds
    plausible: p(t|S) ≥ α · max p(·|S), the adaptive plausibility constraint of contrastive decoding
    (Li et al., 2023). Without it, subtracting log U favours any token U finds rare, however
    unlikely a reply it starts, which is where word salad comes from at large λ.
    """

    def __init__(
        self, weight: float = 0.3, first_tokens: int = 3, plausibility: float = 0.0
    ) -> None:
        if not is_finite_number(weight) or weight < 0:
            raise ValueError(f"weight (λ) must be a finite number of at least 0, got {weight!r}")
        if isinstance(first_tokens, bool) or not isinstance(first_tokens, int) or first_tokens < 1:
            raise ValueError(f"first_tokens (g) must be a positive integer, got {first_tokens!r}")
        if (
            isinstance(plausibility, bool)
            or not isinstance(plausibility, (int, float))
            or not 0 <= plausibility < 1
        ):
            raise ValueError(f"plausibility (α) must be a number in [0, 1), got {plausibility!r}")
        self.weight, self.first_tokens = float(weight), first_tokens
        self.log_plausibility = math.log(plausibility) if plausibility else None
        self.language_model_steps = first_tokens if weight else 0

    def __call__(
        self, ctx: ScoringContext, prefixes: torch.Tensor, log_probs: torch.Tensor
    ) -> torch.Tensor:
        if ctx.step >= self.language_model_steps:
            return log_probs
        if self.log_plausibility is None:
            language_model = language_model_log_probs(ctx, prefixes)
            return torch.add(log_probs, language_model, alpha=-self.weight)
        # Few tokens are plausible: U is read at those alone, and every other score is -inf.
        rows, ids = near_row_maxima(log_probs, -self.log_plausibility)
        language_model = language_model_at(ctx, prefixes, rows, ids)
        rescored = torch.full_like(log_probs, -math.inf)
        rescored[rows, ids] = torch.add(log_probs[rows, ids], language_model, alpha=-self.weight)
        return rescored


@hookimpl
def register_rescorers(register) -> None:
    register("antilm", AntiLanguageModel)
