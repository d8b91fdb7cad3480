"""One decoded reply with its scores."""

from __future__ import annotations

from dataclasses import dataclass, field


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
