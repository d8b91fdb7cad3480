"""Prompt/reply pairs or whole conversations, one per line, as JSON Lines or tab-separated text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from botframework import CorpusError, CorpusReader, hookimpl
from botframework_plugins.corpora.twitter import numbered_lines

FORMATS = ("jsonl", "tsv")


class PairsReader(CorpusReader):
    """One conversation per line; the format comes from ``format`` or the file's extension.

    * ``jsonl``: ``{"prompt": ..., "reply": ...}`` or ``{"turns": [...]}`` on each line.
    * ``tsv``: ``prompt<TAB>reply``; further columns are further turns of the same conversation.

    Blank lines are skipped; files ending in ``.gz`` are read gzipped (``pairs.jsonl.gz``).
    """

    def __init__(self, path: Path | None = None, format: str | None = None) -> None:
        if path is None:
            raise ValueError("the pairs reader needs corpus.path, a .jsonl or .tsv file")
        path = Path(path)
        if format is None:
            suffixes = [s for s in path.suffixes if s != ".gz"]
            format = suffixes[-1].lstrip(".") if suffixes else ""
            if format not in FORMATS:
                raise ValueError(
                    f"cannot tell the format of {path.name} from its extension; name the file "
                    "*.jsonl or *.tsv or set corpus.options.format to jsonl or tsv"
                )
        elif format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
        super().__init__(path, format=format)
        self.format = format

    def conversations(self) -> Iterator[list[str]]:
        parse = _parse_json_line if self.format == "jsonl" else _parse_tsv_line
        found = False
        for number, text in numbered_lines(self.path):
            if not text.strip():
                continue
            try:
                turns = parse(text)
            except ValueError as error:
                raise CorpusError(f"{self.path}:{number}: {error}") from None
            found = True
            yield turns
        if not found:
            raise CorpusError(f"{self.path}: empty corpus, no conversations")


def _parse_json_line(text: str) -> list[str]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise ValueError('expected an object with "prompt" and "reply", or "turns"')
    if "turns" in record:
        turns = record["turns"]
        if not isinstance(turns, list) or len(turns) < 2:
            raise ValueError('"turns" must be a list of at least 2 strings')
        return [_turn(turn, f"turn {index + 1}") for index, turn in enumerate(turns)]
    missing = [key for key in ("prompt", "reply") if key not in record]
    if missing:
        raise ValueError(f'missing {" and ".join(map(repr, missing))} (or give "turns")')
    return [_turn(record["prompt"], "prompt"), _turn(record["reply"], "reply")]


def _parse_tsv_line(text: str) -> list[str]:
    fields = text.split("\t")
    if len(fields) < 2:
        raise ValueError("expected prompt<TAB>reply, found no tab")
    return [_turn(field, f"column {index + 1}") for index, field in enumerate(fields)]


def _turn(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} is empty")
    return value.strip()


@hookimpl
def register_corpus_readers(register: Callable[[str, type[CorpusReader]], None]) -> None:
    register("pairs", PairsReader)
