"""The original project's beam search, ported faithfully: the baseline ``bench decode`` measures."""

from __future__ import annotations

import heapq
import math

import torch

from botframework.data.tokenizer import Tokenizer
from botframework.model.seq2seq import Seq2Seq

#: The original project's (source, reply) length buckets; a call pads both sides to its bucket.
SEED_BUCKETS = ((5, 10), (10, 15), (20, 25), (40, 50))


class SeedStyleBeamSearch:
    """The original project's beam search, as a baseline only (EOS banned, like the other timings).

    A heap holds (score, path) candidates; each step makes one full ``model.step`` call (in the
    original, one TensorFlow session run of the bucket's graph) per candidate: the encoder over the
    source padded to its bucket, then the decoder over every position of the reply so far padded
    to the bucket's reply length, one position after another with attention and the projection
    onto the vocabulary at each, as the unrolled graph did. It reads the next-token probabilities
    at the path's position and, for the anti-LM, makes the same call with an empty source and
    subtracts λ times those probabilities (in probability space, as the original did): 382 calls
    for a 20-token reply at beam 10. ``calls`` counts them.
    """

    def __init__(
        self, model: Seq2Seq, tokenizer: Tokenizer, beam_size: int, antilm: float, length: int
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.beam_size, self.antilm, self.length = beam_size, antilm, length
        self.calls = 0

    def __call__(self, source_ids: torch.Tensor) -> list[int]:
        eos, pad = self.tokenizer.eos_id, self.tokenizer.pad_id
        source_size, reply_size = next(
            b for b in SEED_BUCKETS if b[0] > source_ids.shape[1] and b[1] >= self.length
        )
        source = torch.full((1, source_size), pad)
        source[0, : source_ids.shape[1]] = source_ids[0]
        empty = torch.full((1, source_size), pad)
        empty[0, 0] = eos
        beams: list[tuple[float, list[int]]] = [(0.0, [self.tokenizer.bos_id])]
        for position in range(self.length):
            heap: list[tuple[float, list[int]]] = []
            for score, path in beams:
                padded = torch.tensor([path + [pad] * (reply_size - len(path))])
                probs = self._probs(source, padded)[position]
                if self.antilm:
                    probs = probs - self.antilm * self._probs(empty, padded)[position]
                probs[eos] = float("-inf")
                top = probs.topk(self.beam_size)
                for p, token in zip(top.values.tolist(), top.indices.tolist()):
                    heapq.heappush(heap, (score + math.log(max(p, 1e-12)), path + [token]))
            beams = heapq.nlargest(self.beam_size, heap)
        return beams[0][1][1:]

    def _probs(self, source_ids: torch.Tensor, target_in: torch.Tensor) -> torch.Tensor:
        """One original ``model.step``: the probabilities (reply positions, vocabulary)."""
        self.calls += 1
        lengths = torch.tensor([source_ids.shape[1]])  # the padding is run through, as in TF
        state = self.model.start(self.model.encode(source_ids, lengths))
        positions = []
        for position in range(target_in.shape[1]):
            log_probs, state = self.model.step(target_in[:, position], state)
            positions.append(log_probs[0].exp())
        return torch.stack(positions)
