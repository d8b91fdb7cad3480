"""This machine's matrix-multiply rate and memory bandwidth, and the decoding floor they imply.

The floor of one decoding step is the larger of two times: streaming every weight the step reads
from memory once, and the step's multiply-adds at the measured GEMM rate. Everything else a
decoder does (softmax, top-k, Python) is overhead above it. Both rates are measured with the
threads torch uses now.

Between the floor and a decoder's time sits what this machine's matrix library makes of the
step's own shapes: :func:`kernels_ms` times the products and the log-softmax alone, step by step
at the floor's row counts, through the same packed products the decoder calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from botframework.model.projection import linear
from botframework.model.seq2seq import Seq2Seq


@dataclass
class Hardware:
    """What this machine sustains: GEMM rate (FLOP/s) and memory bandwidth (bytes/s)."""

    gemm_flops: float
    bandwidth: float

    def to_json(self) -> dict[str, float]:
        return {
            "gemm_gflops": round(self.gemm_flops / 1e9, 1),
            "memory_gb_per_s": round(self.bandwidth / 1e9, 1),
        }


def _best_seconds(run: Callable[[], object], repeats: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def measure_hardware(
    size: int = 1024, megabytes: int = 256, layers: Sequence[nn.Linear] = ()
) -> Hardware:
    """The best of a few runs: copying ``megabytes`` (read + write), and the fastest of a
    ``size``³ float32 GEMM and the product the decoder itself runs
    (:func:`botframework.model.projection.linear`, oneDNN's packed weights where it can) on 512
    rows of a ``size`` → 16 × ``size`` layer and of each of ``layers`` (e.g. the model's output)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    rates = [2 * size**3 / _best_seconds(lambda: torch.mm(a, b), 5)]
    for layer in [nn.Linear(size, 16 * size), *layers]:
        rows = torch.randn(512, layer.in_features)
        with torch.inference_mode():
            seconds = _best_seconds(lambda: linear(layer, "weight", layer.bias, rows), 5)
        rates.append(2 * len(rows) * layer.weight.numel() / seconds)
    source = torch.ones(megabytes * 2**20 // 4)
    target = torch.empty_like(source)
    copy = 2 * source.numel() * 4 / _best_seconds(lambda: target.copy_(source), 5)
    return Hardware(max(rates), copy)


@dataclass
class StepCost:
    """One decoding step's work for one row, and the weights it reads whatever the rows."""

    weight_bytes: float
    flops_per_row: float


def step_cost(model: Seq2Seq, source_length: int) -> StepCost:
    """A decoder step at full precision: the decoder RNN, attention over ``source_length``
    positions, the combining layer and the projection onto the vocabulary."""
    matrices = [*model.decoder.parameters(), *model.combine.parameters()]
    matrices += list(model.output.parameters())
    weights = sum(p.numel() for p in matrices if p.dim() == 2)
    all_weights = sum(p.numel() for p in matrices) + model.config.embedding_size
    attention = 2 * source_length * model.config.hidden_size  # scores, then the weighted sum
    return StepCost(4 * all_weights, 2 * (weights + attention))


def encoder_cost(model: Seq2Seq, source_length: int) -> StepCost:
    """Encoding one source: the encoder RNN at every position, and the attention keys."""
    weights = sum(p.numel() for p in model.encoder.parameters() if p.dim() == 2)
    keys = model.config.hidden_size**2
    return StepCost(4 * (weights + keys), 2 * source_length * (weights + keys))


def floor_ms(
    hardware: Hardware, model: Seq2Seq, source_length: int, rows_per_step: list[int], sources: int
) -> float:
    """The least time decoding could take: each step's rows (``rows_per_step``) and the
    ``sources`` encodings, each at the larger of its memory and its arithmetic time."""

    def seconds(cost: StepCost, rows: int) -> float:
        memory = cost.weight_bytes / hardware.bandwidth
        return max(memory, rows * cost.flops_per_row / hardware.gemm_flops)

    step, encoder = step_cost(model, source_length), encoder_cost(model, source_length)
    total = seconds(encoder, sources) + sum(seconds(step, rows) for rows in rows_per_step)
    return 1000 * total


def product_layers(model: Seq2Seq) -> list[tuple[nn.Module, str, torch.Tensor | None]]:
    """Every weight matrix a decoder step multiplies by, as (owner, weight name, bias): the
    decoder RNN's, the combining layer's and, last, the projection onto the vocabulary."""
    layers = []
    for owner in (model.decoder, model.combine, model.output):
        for name, weight in owner.named_parameters(recurse=False):
            if weight.dim() == 2:
                layers.append((owner, name, getattr(owner, name.replace("weight", "bias"), None)))
    return layers


def kernels_ms(model: Seq2Seq, rows_per_step: list[int], repeats: int = 3) -> float:
    """The least time, over ``repeats`` passes, of the decoder steps' unavoidable kernels alone:
    at each step, random features of its row count (``rows_per_step``) multiplied by every
    weight of :func:`product_layers` through :func:`botframework.model.projection.linear`, and
    the log-softmax over the vocabulary that full-precision scores need (in place, as the decoder
    runs it). No attention, no search, no Python between the kernels: a decoder built on them
    cannot go below this, with the weights as cached as a decoding loop leaves them."""
    layers = product_layers(model)
    features = {
        rows: [torch.randn(rows, getattr(owner, name).shape[1]) for owner, name, _ in layers]
        for rows in set(rows_per_step)
    }

    def run() -> None:
        for rows in rows_per_step:
            for (owner, name, bias), inputs in zip(layers, features[rows]):
                product = linear(owner, name, bias, inputs)
            torch.log_softmax(product, dim=-1, out=product)  # the last product: the vocabulary

    with torch.inference_mode():
        return 1000 * _best_seconds(run, repeats)


def rows_per_step(
    beam_size: int, length: int, language_model_steps: int, inputs: int = 1
) -> list[int]:
    """The live rows of a search that keeps ``beam_size`` per input (one at the first step), with
    a language-model twin for each row during the first ``language_model_steps``."""
    rows = [inputs * (1 if step == 0 else beam_size) for step in range(length)]
    return [r * 2 if step < language_model_steps else r for step, r in enumerate(rows)]
