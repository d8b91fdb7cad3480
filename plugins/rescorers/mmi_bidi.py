"""MMI-bidi (Li et al., 2016): re-rank the n-best list with a reverse model p(S|T)."""

from __future__ import annotations

from botframework import (
    Candidate,
    CandidateRescorer,
    ConfigError,
    ScoringContext,
    hookimpl,
    is_finite_number,
    pad_sequences,
)


class BidirectionalMMI(CandidateRescorer):
    """Make each candidate's score (1−λ)·log p(T|S) + λ·log p(S|T) + γ·N_T.

    log p(S|T) comes from ``ctx.extra_models["reverse"]``, a model trained on replies -> prompts
    with the same tokenizer (``training.reverse_model: true``); S is the user's latest message, as
    the reverse model was trained to predict it. The amount added leaves the other
    rescorers' shares of the score as they were: it is −λ·log p(T|S) + λ·log p(S|T) + γ·N_T.
    """

    def __init__(self, weight: float = 0.5, length_weight: float = 0.0) -> None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise ValueError(f"weight (λ) must be a number from 0 to 1, got {weight!r}")
        if not is_finite_number(length_weight):
            raise ValueError(f"length_weight (γ) must be a finite number, got {length_weight!r}")
        self.weight, self.length_weight = float(weight), float(length_weight)

    def __call__(self, ctx: ScoringContext, candidates: list[list[Candidate]]) -> list[list[float]]:
        reverse = ctx.extra_models.get("reverse")
        if reverse is None:
            raise ConfigError(
                "rescorer 'mmi_bidi' needs a reverse model (replies -> prompts) as "
                "extra_models['reverse']; train one with `botframework train BOT.yaml --reverse` "
                "(or set training.reverse_model: true)"
            )
        flat = [(row, c) for row, cands in enumerate(candidates) for c in cands]
        if not flat:
            return [[] for _ in candidates]
        eos = ctx.tokenizer.eos_id
        replies = [c.token_ids or [eos] for _, c in flat]  # an empty reply is a lone EOS source
        prompts = [self._prompt_ids(ctx, row) + [eos] for row, _ in flat]
        pad = ctx.tokenizer.pad_id
        backward = reverse.sequence_log_probs(
            *pad_sequences(replies, pad), *pad_sequences(prompts, pad)
        ).tolist()
        amounts = iter(
            self.weight * (back - c.scores.get("model", 0.0))
            + self.length_weight * len(c.token_ids)
            for (_, c), back in zip(flat, backward)
        )
        return [[next(amounts) for _ in cands] for cands in candidates]

    @staticmethod
    def _prompt_ids(ctx: ScoringContext, row: int) -> list[int]:
        """The user's latest message, as the reverse model learnt to predict it."""
        if ctx.dialogues and ctx.dialogues[row]:
            return ctx.tokenizer.encode(ctx.dialogues[row][-1])
        return ctx.source_ids[row, : int(ctx.source_lengths[row])].tolist()


@hookimpl
def register_rescorers(register) -> None:
    register("mmi_bidi", BidirectionalMMI)
