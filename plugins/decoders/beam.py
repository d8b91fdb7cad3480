"""Beam search on tensors: every hypothesis of every input is a row of one batch."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from botframework import Candidate, DecoderBatch, ScoringContext, StepRescorer, bfloat16_output, hookimpl

OUTPUT_DTYPES = ("float32", "bfloat16")


class BeamSearch:
    """The ``beam_size`` best prefixes of each input, all extended by one batched step at a time.

    The encoder runs once and the decoder state is carried from step to step (reordered, never
    recomputed over the prefix). A prefix scores the sum of its rescored next-token log-probabilities.
    Each step takes one top-k over beam × vocabulary per input, keeping ``2 × beam_size`` candidates:
    those ending in EOS among the first ``beam_size`` are set aside as finished replies, and the
    first ``beam_size`` others go on. An input is done once it has ``beam_size`` finished replies
    (or none left alive); done inputs leave the batch. At ``max_length`` the live prefixes are
    finished as they are; before ``min_length`` tokens EOS is not allowed. Returns each input's
    ``n_best`` finished replies, best first, each score broken down by part. ``output_dtype:
    bfloat16`` computes the vocabulary projection in bfloat16 (faster on CPUs with AVX-512 bf16;
    check that the replies stay the same on an eval set first).
    """

    def __init__(
        self,
        beam_size: int = 5,
        n_best: int | None = None,
        max_length: int | None = None,
        min_length: int = 0,
        output_dtype: str = "float32",
    ) -> None:
        for option, value in (("beam_size", beam_size), ("n_best", n_best), ("max_length", max_length)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{option} must be a positive integer, got {value!r}")
        if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 0:
            raise ValueError(f"min_length must be an integer of at least 0, got {min_length!r}")
        if output_dtype not in OUTPUT_DTYPES:
            raise ValueError(f"output_dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {output_dtype!r}")
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
        k, eos, length = self.beam_size, ctx.tokenizer.eos_id, self.max_length or ctx.max_length
        names = ["model", *(rescorer.name for rescorer in rescorers)]
        batch = DecoderBatch(ctx, rescorers, rows_per_input=k)
        inputs = torch.arange(ctx.batch_size)
        scores = torch.full((ctx.batch_size, k), float("-inf"))
        scores[:, 0] = 0.0  # k copies of one start: only the first may grow at step 0
        scores = scores.view(-1)
        parts = torch.zeros(len(scores), len(names))  # each row's score, broken down by part
        prefixes = torch.empty((len(scores), 0), dtype=torch.long)
        tokens = torch.full((len(scores),), ctx.tokenizer.bos_id, dtype=torch.long)
        finished: list[list[Candidate]] = [[] for _ in range(ctx.batch_size)]
        for step in range(length):
            ctx.step, ctx.rows = step, inputs.repeat_interleave(k)
            outputs = [batch.step(tokens)]  # log p, then each rescorer's result in turn
            for rescorer in rescorers:
                outputs.append(rescorer(ctx, prefixes, outputs[-1]))
            rescored = outputs[-1]
            if step < self.min_length:
                rescored[:, eos] = float("-inf")
            vocab = rescored.shape[1]
            totals = (scores[:, None] + rescored).view(len(inputs), k * vocab)
            top_scores, flat = totals.topk(min(2 * k, k * vocab), dim=1)
            rows = flat // vocab + torch.arange(len(inputs))[:, None] * k
            words = flat % vocab
            picked = torch.stack([output[rows, words] for output in outputs], dim=-1)
            gained = torch.cat([picked[..., :1], picked[..., 1:] - picked[..., :-1]], dim=-1)
            candidate_parts = parts[rows] + gained
            ended = (words == eos) | (step == length - 1)
            alive = torch.isfinite(top_scores)
            for i, j in (ended[:, :k] & alive[:, :k]).nonzero().tolist():
                ids = prefixes[rows[i, j]].tolist()
                if words[i, j] != eos:
                    ids.append(int(words[i, j]))
                finished[int(inputs[i])].append(
                    _candidate(ids, float(top_scores[i, j]), names, candidate_parts[i, j])
                )
            if step == length - 1:
                break
            rank = torch.arange(top_scores.shape[1], dtype=torch.float)
            order = torch.where(ended, -rank - 1, len(rank) - rank).topk(k, dim=1).indices
            scores = top_scores.gather(1, order).masked_fill(ended.gather(1, order), float("-inf"))
            counts = torch.tensor([len(finished[i]) for i in inputs.tolist()])
            searching = (counts < k) & torch.isfinite(scores).any(dim=1)
            if not bool(searching.any()):
                break
            kept_rows = rows.gather(1, order)[searching].view(-1)
            tokens = words.gather(1, order)[searching].view(-1)
            scores = scores[searching].view(-1)
            parts = candidate_parts.gather(1, order[..., None].expand(-1, -1, len(names)))
            parts = parts[searching].view(-1, len(names))
            prefixes = torch.cat([prefixes[kept_rows], tokens[:, None]], dim=1)
            inputs = inputs[searching]
            batch.reorder(kept_rows)
        return [sorted(row, key=lambda c: c.score, reverse=True)[: self.n_best] for row in finished]


def _candidate(ids: list[int], score: float, names: list[str], parts: torch.Tensor) -> Candidate:
    scores: dict[str, float] = {}
    for name, part in zip(names, parts.tolist()):
        scores[name] = scores.get(name, 0.0) + part
    return Candidate(token_ids=ids, score=score, scores=scores)


@hookimpl
def register_decoders(register) -> None:
    register("beam", BeamSearch)
