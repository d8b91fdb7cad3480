"""Beam search on tensors: every hypothesis of every input is a row of one batch."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from botframework_plugins.decoders.beam_rows import Beams, Extensions, best_extensions

from botframework import (
    OUTPUT_DTYPES,
    Candidate,
    ScoringContext,
    StepRescorer,
    hookimpl,
    output_precision,
    run_search,
)


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
    down by part. ``output_dtype: int8`` computes the vocabulary projection with int8 weights,
    ``bfloat16`` in bfloat16 (faster only on CPUs with AVX-512 bf16), ``shortlist`` only for the
    common words and the prompts' words (:mod:`botframework.decoding.shortlist`);
    ``botframework bench decode`` reports how many best replies stay the same.

    ``length_penalty_alpha`` (GNMT, Wu et al. 2016) divides a finished reply's score by
    ((5 + |Y|) / 6) ** α, |Y| its tokens with EOS: 0 (the default) leaves scores alone, larger
    values favour longer replies (the change shows as ``length_normalisation`` in the breakdown).

    ``groups`` > 1 is diverse beam search (Vijayakumar et al., 2018): the beam is split into
    ``groups`` groups of ``beam_size / groups`` prefixes, searched one after the other at each
    step; a group's next-token scores lose ``diversity`` (λ) for every time an earlier group of
    the same input chose that token at this step (a Hamming diversity penalty). The penalty only
    steers the choice: replies keep their log-probability scores, and the groups' finished replies
    are ranked together, a reply found by two groups listed once (so fewer than ``n_best`` may
    come back).
    """

    def __init__(
        self,
        beam_size: int = 5,
        n_best: int | None = None,
        max_length: int | None = None,
        min_length: int = 0,
        output_dtype: str = "float32",
        length_penalty_alpha: float = 0.0,
        groups: int = 1,
        diversity: float = 0.5,
    ) -> None:
        for option, value in (
            ("beam_size", beam_size),
            ("n_best", n_best),
            ("max_length", max_length),
            ("groups", groups),
        ):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ValueError(f"{option} must be a positive integer, got {value!r}")
        if not isinstance(min_length, int) or isinstance(min_length, bool) or min_length < 0:
            raise ValueError(f"min_length must be an integer of at least 0, got {min_length!r}")
        for option, value in (
            ("length_penalty_alpha", length_penalty_alpha),
            ("diversity", diversity),
        ):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{option} must be a number of at least 0, got {value!r}")
        if output_dtype not in OUTPUT_DTYPES:
            raise ValueError(
                f"output_dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {output_dtype!r}"
            )
        if n_best is not None and n_best > beam_size:
            raise ValueError(f"n_best ({n_best}) cannot exceed beam_size ({beam_size})")
        if beam_size % groups:
            raise ValueError(f"beam_size ({beam_size}) must be a multiple of groups ({groups})")
        self.beam_size = beam_size
        self.n_best = n_best or beam_size
        self.max_length, self.min_length = max_length, min_length
        self.output_dtype = output_dtype
        self.length_penalty_alpha = float(length_penalty_alpha)
        self.groups, self.diversity = groups, float(diversity)

    @torch.inference_mode()
    def __call__(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        with output_precision(ctx.model, self.output_dtype, ctx.source_ids):
            return self.search(ctx, rescorers)

    def search(self, ctx: ScoringContext, rescorers: list[StepRescorer]) -> list[list[Candidate]]:
        """Each group of each input is a search of its own (rows input-major, as the batch's)."""
        run = _BeamRun(self, ctx, ["model", *(rescorer.name for rescorer in rescorers)])
        run_search(ctx, rescorers, run, self.beam_size, self.max_length or ctx.max_length)
        groups, finished = self.groups, run.finished
        by_input = [sum(finished[i * groups : (i + 1) * groups], []) for i in range(ctx.batch_size)]
        ranked = (sorted(row, key=lambda c: c.score, reverse=True) for row in by_input)
        return [_distinct(row)[: self.n_best] for row in ranked]

    def _extend(
        self,
        beams: Beams,
        outputs: list[torch.Tensor],
        chosen: torch.Tensor | None,
        finished: list[list[Candidate]],
        names: list[str],
        eos: int,
        last: bool,
    ) -> tuple[Beams, torch.Tensor]:
        """One step of every group in turn: finished replies set aside, the next beams and the
        rows of ``beams`` they extend."""
        width = self.beam_size // self.groups
        kept: list[tuple[Beams, torch.Tensor]] = []
        for group_beams, rows in self._groups(beams):
            # one group takes every row: no copy of the (rows, vocabulary) scores
            group_outputs = outputs if rows is None else [output[rows] for output in outputs]
            best = self._best_extensions(group_beams, group_outputs, chosen, eos, last)
            for index, candidate in best.finished(group_beams, eos, names):
                finished[index].append(self.normalised(candidate, beams.prefixes.shape[1] + 1))
            searching = None  # every input goes on, unless one has all its replies
            if max(map(len, finished)) >= width:
                counts = [len(finished[i]) for i in group_beams.inputs.tolist()]
                searching = torch.tensor(counts) < width
            live, kept_rows = best.live(group_beams, searching_if=searching)
            kept.append((live, kept_rows if rows is None else rows[kept_rows]))
        if len(kept) == 1:
            return kept[0]
        return Beams.concat([live for live, _ in kept]), torch.cat([rows for _, rows in kept])

    def _groups(self, beams: Beams) -> Iterator[tuple[Beams, torch.Tensor | None]]:
        """Each group's beams in turn, with their rows in ``beams`` (None: all of them)."""
        if self.groups == 1:
            yield beams, None
            return
        width = self.beam_size // self.groups
        for group in range(self.groups):
            positions = (beams.inputs % self.groups == group).nonzero().view(-1)
            if len(positions):
                rows = (positions[:, None] * width + torch.arange(width)).view(-1)
                yield beams.take(positions, rows), rows

    def _best_extensions(
        self,
        beams: Beams,
        outputs: list[torch.Tensor],
        chosen: torch.Tensor | None,
        eos: int,
        last: bool,
    ) -> Extensions:
        """The best extensions of one group's beams; with a diversity penalty, chosen by the
        penalised scores but keeping the unpenalised ones, and adding their tokens to ``chosen``
        (times each input's earlier groups chose each token at this step)."""
        width = self.beam_size // self.groups
        if self.groups == 1 or not self.diversity:
            return best_extensions(beams, outputs, eos, last, width)
        real = (beams.inputs // self.groups).repeat_interleave(width)
        penalised = outputs[-1] - self.diversity * chosen[real]
        best = best_extensions(beams, [*outputs, penalised], eos, last, width)
        penalty = self.diversity * chosen[real[best.rows], best.words]
        best.scores, best.parts = best.scores + penalty, best.parts[..., :-1]
        taken = torch.isfinite(best.scores[:, :width])
        picked_by = real[best.rows[:, :width]][taken]
        ones = chosen.new_ones(len(picked_by))
        chosen.index_put_((picked_by, best.words[:, :width][taken]), ones, accumulate=True)
        return best

    def normalised(self, candidate: Candidate, length: int) -> Candidate:
        """``candidate`` with its score divided by the GNMT length penalty of ``length`` tokens."""
        if not self.length_penalty_alpha:
            return candidate
        score = candidate.score / ((5 + length) / 6) ** self.length_penalty_alpha
        candidate.scores["length_normalisation"] = score - candidate.score
        candidate.score = score
        return candidate


class _BeamRun:
    """One beam search over a batch (a :class:`botframework.Search`): the live beams of every
    group of every input, and the replies each has finished."""

    def __init__(self, options: BeamSearch, ctx: ScoringContext, names: list[str]) -> None:
        self.options, self.names, self.eos = options, names, ctx.tokenizer.eos_id
        self.width = options.beam_size // options.groups
        size, bos = ctx.batch_size * options.groups, ctx.tokenizer.bos_id
        self.beams = Beams.start(size, self.width, len(names), bos)
        self.finished: list[list[Candidate]] = [[] for _ in range(size)]
        self.inputs = ctx.batch_size
        self._inputs_seen: torch.Tensor | None = None
        self._row_inputs = torch.empty(0, dtype=torch.long)

    @property
    def tokens(self) -> torch.Tensor:
        return self.beams.tokens

    @property
    def prefixes(self) -> torch.Tensor:
        return self.beams.prefixes

    @property
    def row_inputs(self) -> torch.Tensor:
        inputs = self.beams.inputs  # the same tensor from step to step until an input is done
        if inputs is not self._inputs_seen:
            self._inputs_seen = inputs
            self._row_inputs = (inputs // self.options.groups).repeat_interleave(self.width)
        return self._row_inputs

    def extend(self, outputs: list[torch.Tensor], step: int, last: bool) -> torch.Tensor:
        if step < self.options.min_length:
            outputs[-1][:, self.eos] = float("-inf")
        chosen = None  # how often earlier groups chose each token, for each input
        if self.options.groups > 1 and self.options.diversity:
            chosen = outputs[-1].new_zeros(self.inputs, outputs[-1].shape[1])
        self.beams, kept_rows = self.options._extend(
            self.beams, outputs, chosen, self.finished, self.names, self.eos, last
        )
        return kept_rows


def _distinct(candidates: list[Candidate]) -> list[Candidate]:
    """The first of each reply: two groups may find the same one."""
    seen: set[tuple[int, ...]] = set()
    kept = []
    for candidate in candidates:
        if tuple(candidate.token_ids) not in seen:
            seen.add(tuple(candidate.token_ids))
            kept.append(candidate)
    return kept


@hookimpl
def register_decoders(register) -> None:
    register("beam", BeamSearch)
