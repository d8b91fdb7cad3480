"""The rows of a beam search: the live beams and each step's best extensions, as tensors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from botframework import Candidate, candidate_from_parts, chosen_parts, group_topk


def best_extensions(
    beams: Beams, outputs: list[torch.Tensor], eos: int, last: bool, k: int
) -> Extensions:
    """The 2k best one-token extensions of each input's k beams."""
    scores, rows, words = group_topk(outputs[-1], beams.scores, k, 2 * k)
    gained = chosen_parts(outputs, rows, words)
    ended = (words == eos) | last
    any_ended = bool(ended[:, :k].any())
    return Extensions(k, scores, rows, words, beams.parts[rows] + gained, ended, any_ended)


@dataclass
class Beams:
    """The live hypotheses: ``k`` rows for each input still searching (dead rows score -inf)."""

    inputs: torch.Tensor  # (n,) which input each group of k rows belongs to
    scores: torch.Tensor  # (n·k,) log-space score so far
    parts: torch.Tensor  # (n·k, parts) that score broken down: the model, then each rescorer
    prefixes: torch.Tensor  # (n·k, step) tokens so far
    tokens: torch.Tensor  # (n·k,) the token to feed next

    @classmethod
    def start(cls, size: int, k: int, parts: int, bos: int) -> Beams:
        scores = torch.full((size, k), float("-inf"))
        scores[:, 0] = 0.0  # k copies of one start: only the first may grow at step 0
        return cls(
            inputs=torch.arange(size),
            scores=scores.view(-1),
            parts=torch.zeros(size * k, parts),
            prefixes=torch.empty((size * k, 0), dtype=torch.long),
            tokens=torch.full((size * k,), bos, dtype=torch.long),
        )

    def take(self, positions: torch.Tensor, rows: torch.Tensor) -> Beams:
        """The inputs at ``positions`` with their ``rows``."""
        return Beams(
            self.inputs[positions],
            self.scores[rows],
            self.parts[rows],
            self.prefixes[rows],
            self.tokens[rows],
        )

    @classmethod
    def concat(cls, parts: list[Beams]) -> Beams:
        return cls(*(torch.cat([getattr(p, name) for p in parts]) for name in BEAM_FIELDS))


BEAM_FIELDS = ("inputs", "scores", "parts", "prefixes", "tokens")


@dataclass
class Extensions:
    """Each input's 2k best extensions, best first: (n, 2k) tensors, ``parts`` (n, 2k, parts)."""

    k: int
    scores: torch.Tensor
    rows: torch.Tensor  # the beam row each extends
    words: torch.Tensor
    parts: torch.Tensor
    ended: torch.Tensor  # EOS, or the maximum length reached
    any_ended: bool  # whether any of each input's first k extensions ended

    def finished(
        self, beams: Beams, eos: int, names: list[str]
    ) -> Iterator[tuple[int, Candidate]]:
        """(input, candidate) for the ended extensions among each input's first k."""
        if not self.any_ended:
            return
        taken = self.ended[:, : self.k] & torch.isfinite(self.scores[:, : self.k])
        i, j = taken.nonzero(as_tuple=True)
        # one conversion to lists for all of them: a whole batch's replies end at the last step
        found = zip(
            beams.prefixes[self.rows[i, j]].tolist(),
            self.words[i, j].tolist(),
            beams.inputs[i].tolist(),
            self.parts[i, j].tolist(),
        )
        for ids, word, index, parts in found:
            yield index, candidate_from_parts(ids if word == eos else [*ids, word], names, parts)

    def live(
        self, beams: Beams, searching_if: torch.Tensor | None
    ) -> tuple[Beams, torch.Tensor]:
        """The next beams: each input's first k extensions that did not end, for the inputs
        ``searching_if`` selects (None: all) and that have one alive; and the rows they extend."""
        k, width = self.k, self.parts.shape[2]
        if not self.any_ended:  # the usual step: the first k all go on
            scores, rows, words = self.scores[:, :k], self.rows[:, :k], self.words[:, :k]
            parts = self.parts[:, :k]
        else:
            rank = torch.arange(self.scores.shape[1], dtype=torch.float)
            order = torch.where(self.ended, -rank - 1, len(rank) - rank).topk(k, dim=1).indices
            scores = self.scores.gather(1, order).masked_fill(
                self.ended.gather(1, order), float("-inf")
            )
            rows, words = self.rows.gather(1, order), self.words.gather(1, order)
            parts = self.parts.gather(1, order[..., None].expand(-1, -1, width))
        searching = torch.isfinite(scores).any(dim=1)
        if searching_if is not None:
            searching &= searching_if
        inputs = beams.inputs
        if not bool(searching.all()):
            inputs, scores, rows = inputs[searching], scores[searching], rows[searching]
            words, parts = words[searching], parts[searching]
        rows, tokens = rows.reshape(-1), words.reshape(-1)
        kept = Beams(
            inputs=inputs,
            scores=scores.reshape(-1),
            parts=parts.reshape(-1, width),
            prefixes=torch.cat([beams.prefixes[rows], tokens[:, None]], dim=1),
            tokens=tokens,
        )
        return kept, rows
