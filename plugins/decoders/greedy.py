"""The greedy decoder: the most likely next token at every step, for a whole batch at once."""

from __future__ import annotations

import torch
from botframework_plugins.decoders.beam import BeamSearch
from botframework_plugins.decoders.sampling import RowSearch

from botframework import (
    Candidate,
    ScoringContext,
    StepRescorer,
    hookimpl,
    output_precision,
    run_search,
)


class GreedyDecoder:
    """One candidate per input: the best-scoring token at each step until EOS or ``max_length``.

    It runs the decoding loop every decoder shares, picking one token per row as sampling does
    (without the draw), and finds what beam search with a beam of one finds. ``output_dtype`` as
    for ``beam``.
    """

    def __init__(self, max_length: int | None = None, output_dtype: str = "float32") -> None:
        checked = BeamSearch(beam_size=1, max_length=max_length, output_dtype=output_dtype)
        self.max_length, self.output_dtype = checked.max_length, checked.output_dtype

    @torch.inference_mode()
    def __call__(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        run = RowSearch(ctx, rescorers, 1, lambda scores: scores.argmax(dim=1))
        with output_precision(ctx.model, self.output_dtype, ctx.source_ids):
            run_search(ctx, rescorers, run, 1, self.max_length or ctx.max_length)
        return [[reply] for reply in run.replies]


@hookimpl
def register_decoders(register) -> None:
    register("greedy", GreedyDecoder)
