"""Sampling: replies drawn token by token (temperature, top-k, top-p), for variety and for RL."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from botframework import (
    Candidate,
    ScoringContext,
    StepRescorer,
    candidate_from_parts,
    chosen_parts,
    hookimpl,
    run_search,
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
        run = RowSearch(ctx, rescorers, self.num_samples, self.draw)
        run_search(ctx, rescorers, run, self.num_samples, self.max_length or ctx.max_length)
        n = self.num_samples
        rows = [run.replies[i : i + n] for i in range(0, len(run.replies), n)]
        return [sorted(row, key=lambda c: c.score, reverse=True) for row in rows]

    def draw(self, scores: torch.Tensor) -> torch.Tensor:
        """One token per row (rows,), drawn from the tempered, restricted ``scores``."""
        probs = torch.softmax(self.restrict(scores / self.temperature), dim=-1)
        return torch.multinomial(probs, 1, generator=self.generator).squeeze(1)

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


class RowSearch:
    """A search that picks one token per row (a :class:`botframework.Search`): ``choose`` maps
    the rescored scores (rows, vocabulary) to the tokens (rows,). A row that ends leaves the
    batch, its reply kept in ``replies`` (``rows_per_input`` slots per input, input-major).
    Sampling draws the tokens; greedy search takes the best."""

    def __init__(
        self,
        ctx: ScoringContext,
        rescorers: list[StepRescorer],
        rows_per_input: int,
        choose: Callable[[torch.Tensor], torch.Tensor],
    ) -> None:
        self.names = ["model", *(rescorer.name for rescorer in rescorers)]
        self.choose, self.eos = choose, ctx.tokenizer.eos_id
        size = ctx.batch_size * rows_per_input
        self.samples = torch.arange(size)  # which slot each live row fills
        self.row_inputs = self.samples // rows_per_input
        self.tokens = torch.full((size,), ctx.tokenizer.bos_id, dtype=torch.long)
        self.prefixes = torch.empty((size, 0), dtype=torch.long)
        self.parts = torch.zeros(size, len(self.names))
        self.replies: list[Candidate] = [Candidate(token_ids=[], score=0.0)] * size

    def extend(self, outputs: list[torch.Tensor], step: int, last: bool) -> torch.Tensor:
        tokens = self.choose(outputs[-1])
        parts = self.parts + chosen_parts(outputs, torch.arange(len(tokens)), tokens)
        prefixes = torch.cat([self.prefixes, tokens[:, None]], dim=1)
        ended = (tokens == self.eos) | last
        ended_rows = ended.nonzero().view(-1).tolist()
        if not ended_rows:  # every row goes on: nothing to take out
            self.tokens, self.prefixes, self.parts = tokens, prefixes, parts
            return torch.arange(len(tokens))
        for row in ended_rows:
            reply = candidate_from_parts(prefixes[row].tolist(), self.names, parts[row], self.eos)
            self.replies[int(self.samples[row])] = reply
        kept = (~ended).nonzero().view(-1)
        self.samples, self.row_inputs = self.samples[kept], self.row_inputs[kept]
        self.tokens, self.prefixes, self.parts = tokens[kept], prefixes[kept], parts[kept]
        return kept


@hookimpl
def register_decoders(register) -> None:
    register("sampling", Sampling)
