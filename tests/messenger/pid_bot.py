"""A stand-in bot for decode processes: replies with the id of the process that decoded.

Its own small module, so a spawned decode process imports it without the test modules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from botframework.decoding.candidate import Candidate


class PidBot:
    """``generate`` answers ``pid <its process id>``; a dialogue ending in ``slow`` first touches
    ``started`` (when given) and takes ``slow_s`` seconds."""

    def __init__(self, started: Path | None = None, slow_s: float = 30.0) -> None:
        self.started = started
        self.slow_s = slow_s

    def generate(self, dialogues: Sequence[Sequence[str]]) -> list[list[Candidate]]:
        if any(dialogue[-1] == "slow" for dialogue in dialogues):
            if self.started is not None:
                self.started.touch()
            time.sleep(self.slow_s)
        return [[Candidate([], -1.0, {"model": -1.0}, f"pid {os.getpid()}")] for _ in dialogues]


def failing_bot() -> PidBot:
    raise ValueError("bots/x.yaml: no such checkpoint")
