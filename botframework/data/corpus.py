"""The corpus-reader interface and how conversations become prompt -> reply pairs."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from botframework.data.turns import last_turns


class CorpusError(ValueError):
    """A corpus is missing, empty or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Pair:
    """A training example: the dialogue so far (oldest first, the prompt last) and its reply."""

    context: tuple[str, ...]
    reply: str

    @property
    def prompt(self) -> str:
        return self.context[-1]


class CorpusReader:
    """Yields conversations, each a list of turns (strings), oldest first.

    Built with ``path`` (resolved relative to the bot YAML, None when the reader needs no file)
    and the YAML's ``corpus.options`` as keyword arguments. Raise :class:`CorpusError` with the file
    and line for bad input.
    """

    def __init__(self, path: Path | None = None, **options: object) -> None:
        self.path = path
        self.options = options

    def conversations(self) -> Iterator[list[str]]:
        raise NotImplementedError


def pairs_from_conversations(
    conversations: Iterable[list[str]], context_turns: int = 1
) -> Iterator[Pair]:
    """Consecutive turns become pairs; each prompt keeps up to ``context_turns`` turns."""
    for turns in conversations:
        for index in range(1, len(turns)):
            yield Pair(tuple(last_turns(turns[:index], context_turns)), turns[index])


def split_conversations(
    conversations: list[list[str]], validation_fraction: float, seed: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Hold out whole conversations so no validation reply was seen in training."""
    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    held_out = round(len(order) * validation_fraction)
    if validation_fraction > 0 and len(order) > 1:
        held_out = min(max(held_out, 1), len(order) - 1)
    validation = [conversations[i] for i in sorted(order[:held_out])]
    training = [conversations[i] for i in sorted(order[held_out:])]
    return training, validation
