"""The vocabulary projection of a decoding step, from a transposed copy of the weight.

``nn.Linear`` keeps its weight as (vocabulary, hidden) and multiplies by its transpose. For the few
rows of a decoding step that layout makes the CPU's matrix multiply several times slower than the
same product with a contiguous (hidden, vocabulary) copy, and the projection onto 20,000 words is
most of a step. The copy is made once per weight version and only used without gradients.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

#: Each output layer's transposed weight, with the version of the weight it was copied from.
_TRANSPOSED: weakref.WeakKeyDictionary[nn.Linear, tuple[tuple, torch.Tensor]] = (
    weakref.WeakKeyDictionary()
)


def project(output: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """``output(features)`` for features (N, H); the same numbers up to rounding."""
    if type(output) is not nn.Linear or torch.is_grad_enabled() or features.dim() != 2:
        return output(features)
    weight = output.weight
    version = (weight._version, weight.data_ptr(), weight.dtype, weight.device)
    cached = _TRANSPOSED.get(output)
    if cached is None or cached[0] != version:
        with torch.inference_mode(False), torch.no_grad():
            cached = (version, weight.detach().t().contiguous())
        _TRANSPOSED[output] = cached
    if output.bias is None:
        return features @ cached[1]
    return torch.addmm(output.bias, features, cached[1])
