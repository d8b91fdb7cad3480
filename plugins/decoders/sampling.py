"""Sampling: replies drawn token by token (temperature, top-k, top-p), for variety and for RL."""

from __future__ import annotations

import math

import torch

from botframework import (
    Candidate,
    DecoderBatch,
    ScoringContext,
    StepRescorer,
    apply_step_rescorers,
    hookimpl,
)


class Sampling:
    """``num_samples`` replies per input, each token drawn from the rescored distribution.

    The distribution is sharpened or flattened by ``temperature``, then cut to the ``top_k`` most
    likely tokens (0: no cut) and to the smallest set whose probability reaches ``top_p`` (nucleus
    sampling; 1: no cut). Scores are those of the untempered model and rescorers, as for the other
    decoders; each input's samples come back best first. ``seed`` makes the draws repeatable.
    """

    def __init__(
        self,
        num_samples: int = 1,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        max_length: int | None = None,
        seed: int | None = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        if (
            not isinstance(temperature, (int, float))
            or not temperature > 0
            or math.isinf(temperature)
        ):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}")
        if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
            raise ValueError(f"top_k must be 0 (no cut) or a positive integer, got {top_k!r}")
        if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.num_samples, self.temperature = num_samples, float(temperature)
        self.top_k, self.top_p = top_k, float(top_p)
        self.max_length = max_length
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    @torch.inference_mode()
    def __call__(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        eos, size = ctx.tokenizer.eos_id, ctx.batch_size * self.num_samples
        batch = DecoderBatch(ctx, rescorers, rows_per_input=self.num_samples)
        ctx.rows = torch.arange(ctx.batch_size).repeat_interleave(self.num_samples)
        tokens = torch.full((size,), ctx.tokenizer.bos_id, dtype=torch.long)
        prefixes = torch.empty((size, 0), dtype=torch.long)
        finished = torch.zeros(size, dtype=torch.bool)
        names = ["model", *(rescorer.name for rescorer in rescorers)]
        parts = torch.zeros(size, len(names))
        for step in range(self.max_length or ctx.max_length):
            ctx.step = step
            log_probs = batch.step(tokens)
            rescored, changes = apply_step_rescorers(ctx, rescorers, prefixes, log_probs)
            probs = torch.softmax(self.restrict(rescored / self.temperature), dim=-1)
            tokens = torch.multinomial(probs, 1, generator=self.generator).squeeze(1)
            gained = [
                t.gather(1, tokens[:, None]).squeeze(1)
                for t in (log_probs, *(c for _, c in changes))
            ]
            parts += (~finished).float()[:, None] * torch.stack(gained, dim=1)
            prefixes = torch.cat([prefixes, tokens[:, None]], dim=1)
            finished |= tokens == eos
            if bool(finished.all()):
                break
        candidates = [
            self._candidate(prefixes[row].tolist(), eos, names, parts[row]) for row in range(size)
        ]
        rows = [candidates[i : i + self.num_samples] for i in range(0, size, self.num_samples)]
        return [sorted(row, key=lambda c: c.score, reverse=True) for row in rows]

    def restrict(self, scores: torch.Tensor) -> torch.Tensor:
        """``scores`` with the tokens outside the top-k and the top-p nucleus set to -inf."""
        if self.top_k and self.top_k < scores.shape[1]:
            threshold = scores.topk(self.top_k, dim=1).values[:, -1:]
            scores = scores.masked_fill(scores < threshold, float("-inf"))
        if self.top_p < 1:
            ordered, order = scores.sort(dim=1, descending=True)
            probs = torch.softmax(ordered, dim=1)
            beyond = probs.cumsum(dim=1) - probs >= self.top_p  # the nucleus is already full
            outside = torch.empty_like(beyond).scatter_(1, order, beyond)
            scores = scores.masked_fill(outside, float("-inf"))
        return scores

    @staticmethod
    def _candidate(ids: list[int], eos: int, names: list[str], parts: torch.Tensor) -> Candidate:
        if eos in ids:
            ids = ids[: ids.index(eos)]
        scores: dict[str, float] = {}
        for name, part in zip(names, parts.tolist()):
            scores[name] = scores.get(name, 0.0) + part
        return Candidate(token_ids=ids, score=sum(scores.values()), scores=scores)


@hookimpl
def register_decoders(register) -> None:
    register("sampling", Sampling)
