"""The greedy decoder: the most likely next token at every step, for a whole batch at once."""

from __future__ import annotations

import torch

from botframework import Candidate, ScoringContext, StepRescorer, apply_step_rescorers, hookimpl


class GreedyDecoder:
    """One candidate per input: the argmax token at each step until EOS or ``max_length``."""

    def __init__(self, max_length: int | None = None) -> None:
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.max_length = max_length

    def __call__(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        model, eos = ctx.model, ctx.tokenizer.eos_id
        size = ctx.batch_size
        state = model.start(model.encode(ctx.source_ids, ctx.source_lengths))
        tokens = torch.full((size,), ctx.tokenizer.bos_id, dtype=torch.long)
        prefixes = torch.empty((size, 0), dtype=torch.long)
        finished = torch.zeros(size, dtype=torch.bool)
        model_scores = torch.zeros(size)
        shares: dict[str, torch.Tensor] = {r.name: torch.zeros(size) for r in rescorers}
        ctx.rows = torch.arange(size)
        for step in range(self.max_length or ctx.max_length):
            ctx.step = step
            log_probs, state = model.step(tokens, state)
            rescored, changes = apply_step_rescorers(ctx, rescorers, prefixes, log_probs)
            tokens = rescored.argmax(dim=-1)
            live = (~finished).float()
            model_scores += live * log_probs.gather(1, tokens[:, None]).squeeze(1)
            for name, change in changes:
                shares[name] += live * change.gather(1, tokens[:, None]).squeeze(1)
            prefixes = torch.cat([prefixes, tokens[:, None]], dim=1)
            finished |= tokens == eos
            if bool(finished.all()):
                break
        return [
            [self._candidate(prefixes[row], eos, model_scores[row], shares, row)]
            for row in range(size)
        ]

    @staticmethod
    def _candidate(
        ids: torch.Tensor, eos: int, model_score: torch.Tensor, shares: dict, row: int
    ) -> Candidate:
        token_ids = ids.tolist()
        if eos in token_ids:
            token_ids = token_ids[: token_ids.index(eos)]
        scores = {"model": float(model_score)}
        scores.update({name: float(share[row]) for name, share in shares.items()})
        return Candidate(token_ids=token_ids, score=sum(scores.values()), scores=scores)


@hookimpl
def register_decoders(register) -> None:
    register("greedy", GreedyDecoder)
