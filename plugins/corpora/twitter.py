"""The original project's corpus format: prompt and reply on alternate lines of a text file."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from botframework import CorpusError, CorpusReader, hookimpl


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Stream ``(line number, text without the newline)`` from a UTF-8 file, gzipped if ``.gz``.

    Raises :class:`CorpusError` naming the file (and the line, for text that is not UTF-8).
    """
    if not path.is_file():
        raise CorpusError(f"{path}: no such corpus file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise CorpusError(
                        f"{path}:{number}: not valid UTF-8 (byte {error.start}: {error.reason})"
                    ) from None
                if number == 1:
                    text = text.removeprefix("\ufeff")
                yield number, text.rstrip("\r\n")
    except (OSError, EOFError, zlib.error) as error:
        raise CorpusError(f"{path}: cannot read the corpus: {error}") from None


class TwitterReader(CorpusReader):
    """Odd lines are prompts, each following even line its reply; each pair is one conversation.

    The file is streamed, so it may be larger than memory. Blank lines at the end are ignored;
    anywhere else they are an error, as they would shift every later prompt onto a reply.
    """

    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            raise ValueError("the twitter reader needs corpus.path, the file of prompt/reply lines")
        super().__init__(Path(path))

    def conversations(self) -> Iterator[list[str]]:
        prompt: str | None = None
        lines = 0
        first_blank = 0
        for number, text in numbered_lines(self.path):
            if not text.strip():
                first_blank = first_blank or number
                continue
            if first_blank:
                raise CorpusError(f"{self.path}:{first_blank}: empty line")
            lines = number
            if prompt is None:
                prompt = text.strip()
            else:
                yield [prompt, text.strip()]
                prompt = None
        if not lines:
            raise CorpusError(f"{self.path}: empty corpus, no prompt/reply lines")
        if prompt is not None:
            raise CorpusError(
                f"{self.path}: odd number of lines ({lines}); every prompt line needs its reply "
                "on the next line"
            )


@hookimpl
def register_corpus_readers(register: Callable[[str, type[CorpusReader]], None]) -> None:
    register("twitter", TwitterReader)
