"""Which turns of a dialogue the model reads."""

from __future__ import annotations

from collections.abc import Sequence


def last_turns(turns: Sequence[str], count: int) -> list[str]:
    """The most recent ``count`` of ``turns`` (all of them when there are fewer), oldest first.

    The model was trained on prompts of ``corpus.context_turns`` turns, so every dialogue it
    answers or scores is cut the same way.
    """
    return list(turns[max(0, len(turns) - count) :])
