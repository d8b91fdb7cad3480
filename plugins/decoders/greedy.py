"""The greedy decoder: the most likely next token at every step, for a whole batch at once."""

from __future__ import annotations

from botframework_plugins.decoders.beam import BeamSearch

from botframework import hookimpl


class GreedyDecoder(BeamSearch):
    """One candidate per input: the best-scoring token at each step until EOS or ``max_length``.

    Greedy search is beam search with a beam of one; it runs the same loop. ``output_dtype`` as
    for ``beam``.
    """

    def __init__(self, max_length: int | None = None, output_dtype: str = "float32") -> None:
        super().__init__(beam_size=1, max_length=max_length, output_dtype=output_dtype)


@hookimpl
def register_decoders(register) -> None:
    register("greedy", GreedyDecoder)
