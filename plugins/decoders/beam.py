"""Beam search on tensors: every hypothesis of every input is a row of one batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from botframework import (
    Candidate,
    DecoderBatch,
    ScoringContext,
    StepRescorer,
    bfloat16_output,
    hookimpl,
)

OUTPUT_DTYPES = ("float32", "bfloat16")


class BeamSearch:
    """The ``beam_size`` best prefixes of each input, all extended by one batched step at a time.

    The encoder runs once and the decoder state is carried from step to step (reordered, never
    recomputed over the prefix). A prefix scores the sum of its rescored next-token
    log-probabilities. Each step takes one top-k over beam × vocabulary per input, keeping
    ``2 × beam_size`` candidates: those ending in EOS among the first ``beam_size`` are set aside
    as finished replies, and the first ``beam_size`` others go on. An input is done once it has
    ``beam_size`` finished replies (or none left alive); done inputs leave the batch. At
    ``max_length`` the live prefixes are finished as they are; before ``min_length`` tokens EOS is
    not allowed. Returns each input's ``n_best`` finished replies, best first, each score broken
    down by part. ``output_dtype: bfloat16`` computes the vocabulary projection in bfloat16
    (faster on CPUs with AVX-512 bf16; check that the replies stay the same on an eval set first).
    """

    def __init__(
        self,
        beam_size: int = 5,
        n_best: int | None = None,
        max_length: int | None = None,
        min_length: int = 0,
        output_dtype: str = "float32",
    ) -> None:
        for option, value in (
            ("beam_size", beam_size),
            ("n_best", n_best),
            ("max_length", max_length),
        ):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(f"{option} must be a positive integer, got {value!r}")
        if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 0:
            raise ValueError(f"min_length must be an integer of at least 0, got {min_length!r}")
        if output_dtype not in OUTPUT_DTYPES:
            raise ValueError(
                f"output_dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {output_dtype!r}"
            )
        if n_best is not None and n_best > beam_size:
            raise ValueError(f"n_best ({n_best}) cannot exceed beam_size ({beam_size})")
        self.beam_size = beam_size
        self.n_best = n_best or beam_size
        self.max_length, self.min_length = max_length, min_length
        self.output_dtype = output_dtype

    @torch.inference_mode()
    def __call__(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        bfloat16 = self.output_dtype == "bfloat16"
        with bfloat16_output(ctx.model) if bfloat16 else nullcontext():
            return self.search(ctx, rescorers)

    def search(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        k, length = self.beam_size, self.max_length or ctx.max_length
        names = ["model", *(rescorer.name for rescorer in rescorers)]
        batch = DecoderBatch(ctx, rescorers, rows_per_input=k)
        beams = _Beams.start(ctx.batch_size, k, len(names), ctx.tokenizer.bos_id)
        finished: list[list[Candidate]] = [[] for _ in range(ctx.batch_size)]
        for step in range(length):
            ctx.step, ctx.rows = step, beams.inputs.repeat_interleave(k)
            outputs = [batch.step(beams.tokens)]  # log p, then each rescorer's result in turn
            for rescorer in rescorers:
                outputs.append(rescorer(ctx, beams.prefixes, outputs[-1]))
            if step < self.min_length:
                outputs[-1][:, ctx.tokenizer.eos_id] = float("-inf")
            best = self._best_extensions(beams, outputs, ctx.tokenizer.eos_id, step == length - 1)
            for index, candidate in best.finished(beams, ctx.tokenizer.eos_id, names):
                finished[index].append(candidate)
            if step == length - 1:
                break
            counts = torch.tensor([len(finished[i]) for i in beams.inputs.tolist()])
            beams, kept_rows = best.live(beams, searching_if=counts < k)
            if not len(beams.inputs):
                break
            batch.reorder(kept_rows)
        return [sorted(row, key=lambda c: c.score, reverse=True)[: self.n_best] for row in finished]

    def _best_extensions(
        self, beams: _Beams, outputs: list[torch.Tensor], eos: int, last: bool
    ) -> _Extensions:
        """The 2k best one-token extensions of each input's beams, by one top-k per input."""
        k, groups = self.beam_size, len(beams.inputs)
        # The best 2k of beam × vocabulary are among the best 2k of each row: a cheaper top-k.
        row_best, row_words = outputs[-1].topk(min(2 * k, outputs[-1].shape[1]), dim=1)
        width = row_best.shape[1]
        totals = (beams.scores[:, None] + row_best).view(groups, k * width)
        scores, flat = totals.topk(min(2 * k, k * width), dim=1)
        rows = flat // width + torch.arange(groups)[:, None] * k
        words = row_words.view(groups, k * width).gather(1, flat)
        picked = torch.stack([output[rows, words] for output in outputs], dim=-1)
        gained = torch.cat([picked[..., :1], picked[..., 1:] - picked[..., :-1]], dim=-1)
        ended = (words == eos) | last
        return _Extensions(k, scores, rows, words, beams.parts[rows] + gained, ended)


@dataclass
class _Beams:
    """The live hypotheses: ``k`` rows for each input still searching (dead rows score -inf)."""

    inputs: torch.Tensor  # (n,) which input each group of k rows belongs to
    scores: torch.Tensor  # (n·k,) log-space score so far
    parts: torch.Tensor  # (n·k, parts) that score broken down: the model, then each rescorer
    prefixes: torch.Tensor  # (n·k, step) tokens so far
    tokens: torch.Tensor  # (n·k,) the token to feed next

    @classmethod
    def start(cls, size: int, k: int, parts: int, bos: int) -> _Beams:
        scores = torch.full((size, k), float("-inf"))
        scores[:, 0] = 0.0  # k copies of one start: only the first may grow at step 0
        return cls(
            inputs=torch.arange(size),
            scores=scores.view(-1),
            parts=torch.zeros(size * k, parts),
            prefixes=torch.empty((size * k, 0), dtype=torch.long),
            tokens=torch.full((size * k,), bos, dtype=torch.long),
        )


@dataclass
class _Extensions:
    """Each input's 2k best extensions, best first: (n, 2k) tensors, ``parts`` (n, 2k, parts)."""

    k: int
    scores: torch.Tensor
    rows: torch.Tensor  # the beam row each extends
    words: torch.Tensor
    parts: torch.Tensor
    ended: torch.Tensor  # EOS, or the maximum length reached

    def finished(
        self, beams: _Beams, eos: int, names: list[str]
    ) -> Iterator[tuple[int, Candidate]]:
        """(input, candidate) for the ended extensions among each input's first k."""
        taken = self.ended[:, : self.k] & torch.isfinite(self.scores[:, : self.k])
        for i, j in taken.nonzero().tolist():
            ids = beams.prefixes[self.rows[i, j]].tolist()
            if self.words[i, j] != eos:
                ids.append(int(self.words[i, j]))
            yield (
                int(beams.inputs[i]),
                _candidate(ids, float(self.scores[i, j]), names, self.parts[i, j]),
            )

    def live(self, beams: _Beams, searching_if: torch.Tensor) -> tuple[_Beams, torch.Tensor]:
        """The next beams: each input's first k extensions that did not end, for the inputs
        ``searching_if`` selects and that have one alive; and the rows they extend."""
        rank = torch.arange(self.scores.shape[1], dtype=torch.float)
        order = torch.where(self.ended, -rank - 1, len(rank) - rank).topk(self.k, dim=1).indices
        scores = self.scores.gather(1, order).masked_fill(
            self.ended.gather(1, order), float("-inf")
        )
        searching = searching_if & torch.isfinite(scores).any(dim=1)
        rows = self.rows.gather(1, order)[searching].view(-1)
        tokens = self.words.gather(1, order)[searching].view(-1)
        parts = self.parts.gather(1, order[..., None].expand(-1, -1, self.parts.shape[2]))
        kept = _Beams(
            inputs=beams.inputs[searching],
            scores=scores[searching].view(-1),
            parts=parts[searching].view(-1, self.parts.shape[2]),
            prefixes=torch.cat([beams.prefixes[rows], tokens[:, None]], dim=1),
            tokens=tokens,
        )
        return kept, rows


def _candidate(ids: list[int], score: float, names: list[str], parts: torch.Tensor) -> Candidate:
    scores: dict[str, float] = {}
    for name, part in zip(names, parts.tolist()):
        scores[name] = scores.get(name, 0.0) + part
    return Candidate(token_ids=ids, score=score, scores=scores)


@hookimpl
def register_decoders(register) -> None:
    register("beam", BeamSearch)
