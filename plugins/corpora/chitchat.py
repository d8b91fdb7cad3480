"""The Chit Chat Challenge conversations that ship inside the ``chitchat-dataset`` package."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

from botframework import CorpusError, CorpusReader, hookimpl


class ChitchatReader(CorpusReader):
    """Every conversation of the dataset: a turn per speaker change, its messages joined by spaces.

    No download happens: the data is part of the installed package. ``path`` may point to another
    ``dataset.json`` of the same layout. Whitespace inside a turn (newlines too) becomes one space;
    conversations with fewer than ``min_turns`` turns are skipped.
    """

    def __init__(self, path: Path | None = None, min_turns: int = 2) -> None:
        if type(min_turns) is not int or min_turns < 2:
            raise ValueError(f"min_turns must be an integer of at least 2, got {min_turns!r}")
        super().__init__(Path(path) if path is not None else None, min_turns=min_turns)
        self.min_turns = min_turns

    def conversations(self) -> Iterator[list[str]]:
        for conversation in self._load().values():
            turns = [_turn_text(turn) for turn in conversation.get("messages", [])]
            turns = [turn for turn in turns if turn]
            if len(turns) >= self.min_turns:
                yield turns

    def _load(self) -> dict[str, Any]:
        path = self.path or _shipped_dataset()
        if not path.is_file():
            raise CorpusError(f"{path}: no such chitchat dataset file")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CorpusError(f"{path}: not a chitchat dataset JSON file: {error}") from None
        if not isinstance(data, dict):
            raise CorpusError(f"{path}: expected a mapping of conversation ids to conversations")
        return data


def _shipped_dataset() -> Path:
    try:
        return Path(str(files("chitchat_dataset") / "dataset.json"))
    except ModuleNotFoundError:
        raise CorpusError(
            "the chitchat reader needs the chitchat-dataset package: pip install chitchat-dataset"
        ) from None


def _turn_text(messages: list[dict[str, Any]]) -> str:
    return " ".join(" ".join(str(message.get("text") or "") for message in messages).split())


@hookimpl
def register_corpus_readers(register: Callable[[str, type[CorpusReader]], None]) -> None:
    register("chitchat", ChitchatReader)
