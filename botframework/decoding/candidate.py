"""One decoded reply with its scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass
class Candidate:
    """A decoded reply.

    ``score`` is the final log-space score after every rescorer; ``scores`` breaks it down by part
    (``"model"`` is log p(reply | source), each rescorer adds its own entry).
    """

    token_ids: list[int]
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    text: str = ""

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "score": self.score, "scores": dict(self.scores)}


def candidate_from_parts(
    token_ids: list[int],
    names: Sequence[str],
    parts: torch.Tensor | Sequence[float],
    eos: int | None = None,
) -> Candidate:
    """A candidate of ``token_ids`` (cut at ``eos``, if given) whose score is the sum of ``parts``
    (a 1-D tensor or a list), one per name (``"model"``, then each rescorer's; a name listed twice
    gets the sum)."""
    if eos is not None and eos in token_ids:
        token_ids = token_ids[: token_ids.index(eos)]
    scores: dict[str, float] = {}
    values = parts.tolist() if hasattr(parts, "tolist") else parts
    for name, part in zip(names, values):
        scores[name] = scores.get(name, 0.0) + part
    return Candidate(token_ids=token_ids, score=sum(scores.values()), scores=scores)
