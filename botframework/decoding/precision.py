"""Cheaper vocabulary projections for decoding, opt-in: the projection onto the vocabulary
dominates a decoding step.

- ``int8``: the weight quantised to int8 per output word, the features quantised on the fly
  (``torch.ao`` dynamic quantisation, fbgemm on x86): several times faster than an unpacked
  float32 product for the few rows of a decoding step on any AVX2 CPU, but not than the packed
  float32 step (:mod:`botframework.model.projection`). Each row's 32 best words by the int8
  logits are then recomputed in float32 (as a shortlist), so the words a search picks from keep
  nearly exact scores. On the shipped model's 200 first held-out prompts, 197 best replies stay
  the same (200 with 64 words, 193 with 24; more words cost more, most in large batches).
- ``bfloat16``: on CPUs with AVX-512 bf16 (:func:`native_bfloat16` says whether this one has
  it), the weight packed by oneDNN as float32's is (:mod:`botframework.model.projection`): 2-3×
  faster than the packed float32 product for the rows of a decoding step; elsewhere it is
  emulated and slower.
- ``shortlist``: only the common words and the prompts' words are scored
  (:mod:`botframework.decoding.shortlist`): under a third of the projection at 20,000 words.

Their log-probabilities differ slightly from float32 ones, so check the chosen replies before
turning one on: ``botframework bench decode`` reports the share of held-out prompts whose best
reply stays the same.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import ContextManager

import torch
import torch.nn.functional as F
from torch import nn

from botframework.decoding.row_topk import row_topk
from botframework.decoding.shortlist import ShortlistLinear, shortlist_words
from botframework.model.projection import linear

#: The decoding precisions of the output layer.
OUTPUT_DTYPES = ("float32", "bfloat16", "int8", "shortlist")

#: The converted copy of each output layer by precision, remade when its weights change.
_COPIES: weakref.WeakKeyDictionary[nn.Linear, dict[str, tuple[tuple, nn.Module]]] = (
    weakref.WeakKeyDictionary()
)


class Bfloat16Linear(nn.Module):
    """``linear`` computed in bfloat16 with float32 inputs and outputs."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.weight = linear.weight.detach().to(torch.bfloat16)
        bias = linear.bias
        self.bias = None if bias is None else bias.detach().to(torch.bfloat16)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = features.to(torch.bfloat16)
        if features.dim() == 2 and not torch.is_grad_enabled():  # a decoding step: packed weight
            return linear(self, "weight", self.bias, features).float()
        return F.linear(features, self.weight, self.bias).float()


def int8_linear(linear: nn.Linear) -> nn.Module:
    """``linear`` as a dynamically quantised int8 layer (one scale per output word)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's notice that it moves to torchao
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        wrapped = torch.ao.quantization.quantize_dynamic(
            nn.Sequential(linear), {nn.Linear: qconfig}, dtype=torch.qint8
        )
    return wrapped[0]


class Int8Linear(nn.Module):
    """``linear`` with int8 weights; each row's ``exact`` best words recomputed in float32."""

    def __init__(self, linear: nn.Linear, exact: int = 32) -> None:
        super().__init__()
        self.quantised = int8_linear(linear)
        self.weight = linear.weight.detach()
        self.bias = None if linear.bias is None else linear.bias.detach()
        self.exact = exact

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.quantised(features)
        if features.dim() != 2:
            return logits
        best = row_topk(logits, min(self.exact, logits.shape[1]))[1]
        exact = torch.bmm(self.weight[best], features.unsqueeze(2)).squeeze(2)
        if self.bias is not None:
            exact += self.bias[best]
        return logits.scatter_(1, best, exact)


_CONVERTERS = {"bfloat16": Bfloat16Linear, "int8": Int8Linear}


@contextmanager
def _converted_output(
    model: nn.Module, dtype: str, source_ids: torch.Tensor | None
) -> Iterator[nn.Module]:
    original = model.output
    if not isinstance(original, nn.Linear):  # already inside such a block
        yield model
        return
    if dtype == "shortlist":  # made for these prompts, so never kept
        with torch.inference_mode(False), torch.no_grad():
            words = shortlist_words(original, source_ids)
            model.output = ShortlistLinear(original, words)
    else:
        version = (original.weight._version, original.weight.data_ptr())
        copies = _COPIES.setdefault(original, {})
        if dtype not in copies or copies[dtype][0] != version:
            with torch.inference_mode(False), torch.no_grad():
                copies[dtype] = (version, _CONVERTERS[dtype](original))
        model.output = copies[dtype][1]
    try:
        yield model
    finally:
        model.output = original


def output_precision(
    model: nn.Module, dtype: str, source_ids: torch.Tensor | None = None
) -> ContextManager[nn.Module]:
    """Inside the block, ``model.output`` (the vocabulary projection) runs in ``dtype``, one of
    :data:`OUTPUT_DTYPES` (``float32`` leaves it alone); ``shortlist``
    (:mod:`botframework.decoding.shortlist`) keeps the words of the prompts ``source_ids``."""
    if dtype not in OUTPUT_DTYPES:
        raise ValueError(f"output dtype must be one of {', '.join(OUTPUT_DTYPES)}, got {dtype!r}")
    return nullcontext(model) if dtype == "float32" else _converted_output(model, dtype, source_ids)


def bfloat16_output(model: nn.Module) -> ContextManager[nn.Module]:
    """Inside the block, ``model.output`` (the vocabulary projection) runs in bfloat16."""
    return output_precision(model, "bfloat16")


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 bf16 or AMX), as far as Linux says."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
