"""Decoding latency and throughput (``botframework bench decode``), against the original's
algorithm and against this machine's floor, in one run.

Every timing decodes replies of a fixed length (EOS is banned until then) from inputs of a fixed
length, after a warm-up, and reports the median over the inputs. The baseline
(:class:`~botframework.bench.seed_style.SeedStyleBeamSearch`) is the original project's beam
search ported faithfully; being slow, it is timed on a few inputs. The floor
(:mod:`botframework.bench.hardware`) comes from this machine's GEMM rate and memory bandwidth,
measured in the same run. Each opt-in output layer (bfloat16, int8, the vocabulary shortlist) is
timed too, with its agreement: the
share of held-out prompts (random sources for a model without a corpus) whose best reply under
beam search with the anti-LM is the same as at full precision. The decoders and the anti-LM are
built through the plugin registry, like a bot YAML's.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from botframework.bench.hardware import (
    Hardware,
    floor_ms,
    kernels_ms,
    measure_hardware,
    rows_per_step,
)
from botframework.bench.seed_style import SeedStyleBeamSearch
from botframework.data.tokenizer import SPECIAL_TOKENS, Tokenizer
from botframework.decoding.context import ScoringContext
from botframework.decoding.decoder_batch import language_model_steps
from botframework.decoding.precision import native_bfloat16, output_precision
from botframework.decoding.rescorer import StepRescorer, TokenBan, every_row
from botframework.decoding.settings import SHORTHAND_RESCORERS
from botframework.model.seq2seq import Seq2Seq
from botframework.plugins import Parts, build_plugin_manager, collect_parts

WHERE = "bench decode"
#: The opt-in output precisions timed after float32.
OPT_INS = ("bfloat16", "int8", "shortlist")


class _NoEnd(TokenBan):
    """Bans EOS so every timed reply has the same length; in place, as ``min_length`` does for
    beam search."""

    name = "no_end"

    def banned(
        self, ctx: ScoringContext, prefixes: torch.Tensor, vocab_size: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return every_row(torch.tensor([ctx.tokenizer.eos_id]), len(prefixes))


@dataclass
class Sources:
    """Padded source ids (N, S) and their lengths (N,)."""

    ids: torch.Tensor
    lengths: torch.Tensor

    def __getitem__(self, rows: slice) -> Sources:
        return Sources(self.ids[rows], self.lengths[rows])

    def __len__(self) -> int:
        return len(self.ids)


def run_decode_benchmark(
    model: Seq2Seq,
    tokenizer: Tokenizer,
    inputs: int = 20,
    seed_style_inputs: int = 3,
    beam_size: int = 10,
    batch_size: int = 32,
    input_length: int = 10,
    reply_length: int = 20,
    antilm_args: dict[str, object] | None = None,
    parts: Parts | None = None,
    held_out: Sources | None = None,
    rounds: int = 1,
) -> dict[str, object]:
    """The benchmark's numbers for ``model``: float32, each opt-in precision, the original's
    algorithm and the floor. The anti-LM takes ``antilm_args`` (the YAML's, when it lists one),
    else its defaults. Decoders and the anti-LM come from ``parts`` (default: the installed
    plugins'). Agreement is measured on ``held_out`` (default: ``inputs`` random sources).

    With ``rounds`` above 1 the hardware and the float32, int8 and shortlist timings are measured
    that many times, one round after the other, and each number is the best of its rounds (the
    fastest time, the highest rate): other work on a shared machine only ever slows a round down.
    """
    parts = parts or collect_parts(build_plugin_manager())
    model.eval()
    generator = torch.Generator().manual_seed(0)
    shape = (max(inputs, batch_size), input_length)
    ids = torch.randint(len(SPECIAL_TOKENS), model.vocab_size, shape, generator=generator)
    sources = Sources(ids, torch.full((len(ids),), input_length))
    antilm = parts.rescorers.create(SHORTHAND_RESCORERS["antilm"], dict(antilm_args or {}), WHERE)
    timings = _Timings(model, tokenizer, sources, inputs, beam_size, reply_length, antilm, parts)
    load_at_start = os.getloadavg()[0]  # other processes on the machine skew every number
    # The timings first, the emulated bfloat16 (the slowest, least telling) last.
    fast = ("float32", "int8", "shortlist")
    shapes = _shapes(timings, batch_size, language_model_steps([antilm]))
    machines, kernels, measured = [], [], []
    for _ in range(rounds):
        machines.append(measure_hardware(layers=[model.output]))
        kernels.append(_kernels(model, shapes))
        measured.append({dtype: timings.measure(dtype, batch_size) for dtype in fast})
    hardware = Hardware(
        max(machine.gemm_flops for machine in machines),
        max(machine.bandwidth for machine in machines),
    )
    timed = {dtype: _best_of([round_[dtype] for round_ in measured]) for dtype in fast}
    float32 = timed["float32"]
    floors = _floors(hardware, model, input_length, shapes)
    least_kernels = _best_of(kernels)  # the least time of each configuration
    seed_style = SeedStyleBeamSearch(model, tokenizer, beam_size, antilm.weight, reply_length)
    seed_inputs = timings.singles[:seed_style_inputs]  # no warm-up: each is thousands of calls
    seed_ms = statistics.median(_seconds(seed_style, ids) for ids in seed_inputs) * 1000
    agreement = _Agreement(timings, held_out or sources[:inputs], batch_size)
    timed["bfloat16"] = timings.measure("bfloat16", batch_size)
    result: dict[str, object] = {
        **_describe(model, input_length, reply_length, inputs, antilm, antilm_args),
        "hardware": hardware.to_json(),
        **float32,
        f"seed_style_beam{beam_size}_antilm_ms": round(seed_ms, 1),
        "seed_style_inputs": len(seed_inputs),
        "seed_style_model_step_calls": seed_style.calls // len(seed_inputs),
        "floor_ms": {key: round(value, 2) for key, value in floors.items()},
        "over_floor": {
            **_over(float32, floors),
            f"batch{batch_size}": _batch_over(float32, floors, batch_size),
        },
        "kernels_ms": {key: round(value, 2) for key, value in least_kernels.items()},
        "kernels_over_floor": {key: round(least_kernels[key] / floors[key], 2) for key in shapes},
        "ratios": {
            **_ratios(float32, seed_ms, beam_size, batch_size),
            "batch_over_sequential_ceiling": _batch_ceiling(float32, floors, beam_size, batch_size),
        },
        "agreement_prompts": len(agreement.sources),
        "rounds": rounds,
    }
    native = native_bfloat16()
    for dtype in OPT_INS:
        emulated = dtype == "bfloat16" and not native  # slower than float32: not worth comparing
        same = "not measured: no AVX-512 bf16" if emulated else agreement.same(dtype)
        result[f"{dtype}_output"] = {
            **timed[dtype],
            "same_best_replies": same,
            "ratios": _ratios(timed[dtype], seed_ms, beam_size, batch_size),
        }
    result["bfloat16_output"]["native"] = native
    result["load_average"] = {"start": load_at_start, "end": os.getloadavg()[0]}
    return result


def _describe(
    model: Seq2Seq,
    input_length: int,
    reply_length: int,
    inputs: int,
    antilm: StepRescorer,
    antilm_args: dict[str, object] | None,
) -> dict[str, object]:
    return {
        "hidden_size": model.config.hidden_size,
        "num_layers": model.config.num_layers,
        "vocab_size": model.vocab_size,
        "cell": model.config.cell,
        "attention": model.config.attention,
        "threads": torch.get_num_threads(),
        "input_tokens": input_length,
        "reply_tokens": reply_length,
        "inputs": inputs,
        "antilm": antilm_args or {k: getattr(antilm, k, None) for k in ("weight", "first_tokens")},
    }


class _Timings:
    """Median timings of greedy, beam and beam + anti-LM on the same inputs, in one precision."""

    def __init__(
        self,
        model: Seq2Seq,
        tokenizer: Tokenizer,
        sources: Sources,
        inputs: int,
        beam_size: int,
        reply_length: int,
        antilm: StepRescorer,
        parts: Parts,
    ) -> None:
        self.model, self.tokenizer, self.sources = model, tokenizer, sources
        self.singles = [sources.ids[i : i + 1] for i in range(inputs)]
        self.beam_size, self.length, self.antilm = beam_size, reply_length, antilm
        self.decoders = parts.decoders

    def beam(self, dtype: str, **lengths: int) -> Callable:
        args = {"beam_size": self.beam_size, **lengths, "output_dtype": dtype}
        return self.decoders.create("beam", args, WHERE)

    def measure(self, dtype: str, batch_size: int) -> dict[str, float]:
        k = self.beam_size
        greedy = self.decoders.create("greedy", {"max_length": self.length}, WHERE)
        beam = self.beam(dtype, max_length=self.length, min_length=self.length)
        # EOS is banned by a rescorer for greedy, by min_length for beams
        greedy_ms = _median_ms(self.timer(greedy, [_NoEnd()], dtype), self.singles)
        beam_ms = _median_ms(self.timer(beam, [], dtype), self.singles)
        beam_antilm_ms = _median_ms(self.timer(beam, [self.antilm], dtype), self.singles)
        batch_ms = _median_ms(
            self.timer(beam, [self.antilm], dtype), [self.sources.ids[:batch_size]] * 3
        )
        return {
            "greedy_ms": round(greedy_ms, 1),
            f"beam{k}_ms": round(beam_ms, 1),
            f"beam{k}_antilm_ms": round(beam_antilm_ms, 1),
            "sequential_replies_per_s": round(1000 / beam_antilm_ms, 2),
            f"batch{batch_size}_replies_per_s": round(batch_size * 1000 / batch_ms, 2),
        }

    def timer(self, decoder: Callable, rescorers: list, dtype: str) -> Callable:
        def decode(ids: torch.Tensor) -> float:
            lengths = torch.full((len(ids),), ids.shape[1])
            ctx = _context(self.model, self.tokenizer, Sources(ids, lengths), self.length)
            # The beam decoder switches precision itself; this puts greedy in the same one, the
            # switch timed too (a shortlist is made for each batch of prompts).
            start = time.perf_counter()
            with torch.inference_mode(), output_precision(self.model, dtype, ids):
                decoder(ctx, rescorers)
            return time.perf_counter() - start

        return decode


class _Agreement:
    """Best replies of beam search with the anti-LM (EOS allowed) in each precision, compared."""

    def __init__(self, timings: _Timings, sources: Sources, batch_size: int) -> None:
        self.timings, self.sources, self.batch_size = timings, sources, batch_size
        self.full = self.best("float32")

    def best(self, dtype: str) -> list[list[int]]:
        beam, timings, best = self.timings.beam(dtype), self.timings, []
        for start in range(0, len(self.sources), self.batch_size):
            batch = self.sources[start : start + self.batch_size]
            ctx = _context(timings.model, timings.tokenizer, batch, 30)
            with torch.inference_mode():
                best += [row[0].token_ids if row else [] for row in beam(ctx, [timings.antilm])]
        return best

    def same(self, dtype: str) -> str:
        same = sum(a == b for a, b in zip(self.full, self.best(dtype)))
        return f"{same}/{len(self.full)}"


@dataclass
class _Shape:
    """One timed configuration's work: the live rows of every step, over how many inputs, with
    language-model rows or not."""

    rows: list[int]
    inputs: int
    language_model: bool


def _shapes(timings: _Timings, batch_size: int, lm_steps: int) -> dict[str, _Shape]:
    k, length = timings.beam_size, timings.length

    def shape(beam: int, lm: int, inputs: int = 1) -> _Shape:
        return _Shape(rows_per_step(beam, length, lm, inputs), inputs, bool(lm))

    return {
        "greedy_ms": shape(1, 0),
        f"beam{k}_ms": shape(k, 0),
        f"beam{k}_antilm_ms": shape(k, lm_steps),
        f"batch{batch_size}_ms_per_reply": shape(k, lm_steps, batch_size),
        # the least work any batched beam search of this model does: no language-model rows
        f"batch{batch_size}_without_lm_ms_per_reply": shape(k, 0, batch_size),
    }


def _floors(
    hardware: Hardware, model: Seq2Seq, source_length: int, shapes: dict[str, _Shape]
) -> dict[str, float]:
    """Each configuration's floor per reply (:func:`floor_ms`); the empty source of the
    language-model rows is one more encoding."""
    floors = {}
    for key, shape in shapes.items():
        encodings = shape.inputs + (1 if shape.language_model else 0)
        total = floor_ms(hardware, model, source_length, shape.rows, encodings)
        floors[key] = total / shape.inputs
    return floors


def _kernels(model: Seq2Seq, shapes: dict[str, _Shape]) -> dict[str, float]:
    """Each configuration's unavoidable kernels alone per reply (:func:`kernels_ms`)."""
    return {key: kernels_ms(model, shape.rows) / shape.inputs for key, shape in shapes.items()}


def _over(timings: dict[str, float], floors: dict[str, float]) -> dict[str, float]:
    """Ours / floor for every configuration timed one input at a time."""
    return {key: round(timings[key] / floors[key], 2) for key in floors if key in timings}


def _batch_over(timings: dict[str, float], floors: dict[str, float], batch_size: int) -> float:
    """Ours / floor per reply of a batch of ``batch_size`` inputs."""
    per_reply = 1000 / timings[f"batch{batch_size}_replies_per_s"]
    return round(per_reply / floors[f"batch{batch_size}_ms_per_reply"], 2)


def _batch_ceiling(
    timings: dict[str, float], floors: dict[str, float], beam_size: int, batch_size: int
) -> float:
    """The most batching could gain over decoding one input at a time as timed: the sequential
    time per reply over the batch's floor per reply without language-model rows (so the anti-LM
    costs the batch nothing). Below the goal, no implementation reaches it on this machine."""
    per_reply_floor = floors[f"batch{batch_size}_without_lm_ms_per_reply"]
    return round(timings[f"beam{beam_size}_antilm_ms"] / per_reply_floor, 2)


def _best_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each timing's best over ``rounds``: the least of the times, the most of the rates (keys
    ending in ``_per_s``)."""
    return {
        key: (max if key.endswith("_per_s") else min)(round_[key] for round_ in rounds)
        for key in rounds[0]
    }


def _ratios(timings: dict[str, float], seed_ms: float, beam_size: int, batch_size: int) -> dict:
    beam_antilm = timings[f"beam{beam_size}_antilm_ms"]
    batched = timings[f"batch{batch_size}_replies_per_s"]
    return {
        "beam_antilm_over_greedy": round(beam_antilm / timings["greedy_ms"], 2),
        "seed_style_over_beam_antilm": round(seed_ms / beam_antilm, 1),
        "batch_over_sequential": round(batched / timings["sequential_replies_per_s"], 2),
    }


def _context(model: Seq2Seq, tokenizer: Tokenizer, sources: Sources, length: int) -> ScoringContext:
    return ScoringContext(
        model=model,
        tokenizer=tokenizer,
        source_ids=sources.ids,
        source_lengths=sources.lengths,
        max_length=length,
    )


def _median_ms(decode: Callable[[torch.Tensor], float], inputs: list[torch.Tensor]) -> float:
    decode(inputs[0])  # warm-up
    return statistics.median(decode(ids) for ids in inputs) * 1000


def _seconds(decoder: SeedStyleBeamSearch, ids: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        decoder(ids)
    return time.perf_counter() - start
