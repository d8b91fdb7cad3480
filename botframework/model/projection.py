"""Linear layers of a decoding step, from copies of their weights laid out for few rows.

``nn.Linear`` keeps its weight as (out, in) and multiplies by its transpose. For the few rows of a
decoding step that layout makes the CPU's matrix multiply several times slower than it could be,
and the projection onto 20,000 words is most of a step. Without gradients the products run on a
copy of the weight made once per weight version:

- on a CPU with oneDNN (every x86 build of PyTorch), the weight packed into oneDNN's blocked
  layout (``torch.ops.mkldnn._reorder_linear_weight``, what ``torch.compile`` uses on CPU): 1.5-3×
  faster than ``addmm`` for 1-300 rows on one core;
- elsewhere (or if that private operator is missing or fails), a contiguous (in, out) transpose
  for ``addmm``.

Both give the same numbers as ``nn.Linear`` up to float rounding (a few 1e-6 on the logits).
The opt-in bfloat16 output layer (:mod:`botframework.decoding.precision`) packs its bfloat16
weight the same way.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

#: Per module, per weight name: the weight version copied, the copy's kind and the copy.
_COPIES: weakref.WeakKeyDictionary[nn.Module, dict[str, tuple[tuple, str, torch.Tensor]]] = (
    weakref.WeakKeyDictionary()
)
#: The rows oneDNN packs a weight for; the packed weight serves any number of rows.
_PACKED_FOR_ROWS = 32
_packing_failed = False


def project(output: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """``output(features)`` for features (N, H); the same numbers up to rounding."""
    if type(output) is not nn.Linear or torch.is_grad_enabled() or features.dim() != 2:
        return output(features)
    return linear(output, "weight", output.bias, features)


def linear(
    owner: nn.Module, name: str, bias: torch.Tensor | None, features: torch.Tensor
) -> torch.Tensor:
    """``features @ weight.T + bias`` (N, out) for features (N, in), where ``weight`` (out, in)
    is ``owner``'s parameter ``name``; for use without gradients."""
    kind, weight = _weight_copy(owner, name)
    if kind == "packed":
        try:
            return torch.ops.mkldnn._linear_pointwise(features, weight, bias, "none", [], "")
        except (RuntimeError, AttributeError):
            _give_up_packing()
            kind, weight = _weight_copy(owner, name)
    if bias is None:
        return features @ weight
    return torch.addmm(bias, features, weight)


def forget_weight_copies(model: nn.Module) -> None:
    """Drop the copies made for ``model``'s layers (e.g. before freeing its weights)."""
    for module in model.modules():
        _COPIES.pop(module, None)


def _weight_copy(owner: nn.Module, name: str) -> tuple[str, torch.Tensor]:
    """``owner``'s copy of its weight ``name`` ("packed" or "transposed"), remade when stale."""
    weight = getattr(owner, name)
    changes = -1 if weight.is_inference() else weight._version  # inference tensors keep no count
    version = (changes, weight.data_ptr(), weight.dtype, weight.device, _packing_failed)
    copies = _COPIES.setdefault(owner, {})
    cached = copies.get(name)
    if cached is None or cached[0] != version:
        with torch.inference_mode(False), torch.no_grad():
            packed = _packed(weight) if _may_pack(weight) else None
            kind, copy = ("packed", packed) if packed is not None else ("transposed", None)
            if copy is None:
                copy = weight.detach().t().contiguous()
        cached = copies[name] = (version, kind, copy)
    return cached[1], cached[2]


def _may_pack(weight: torch.Tensor) -> bool:
    return (
        not _packing_failed
        and weight.device.type == "cpu"
        and weight.dtype in (torch.float32, torch.bfloat16)
        and torch.backends.mkldnn.enabled
        and torch.backends.mkldnn.is_available()
    )


def _packed(weight: torch.Tensor) -> torch.Tensor | None:
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight.detach(), _PACKED_FOR_ROWS)
    except (RuntimeError, AttributeError):
        _give_up_packing()
        return None


def _give_up_packing() -> None:
    """Use transposed copies from now on: this PyTorch cannot run the packed product."""
    global _packing_failed
    _packing_failed = True
