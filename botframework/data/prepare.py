"""Reading a bot's corpus and building its tokenizer once, stored in the workspace."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botframework.config.loader import BotDefinition
from botframework.config.schema import BotConfig
from botframework.data.corpus import CorpusError, split_conversations
from botframework.data.tokenizer import Tokenizer
from botframework.ranks import is_global_zero
from botframework.plugins import Parts

log = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
#: Splits the corpus when ``training.seed`` is unset, so the split stays the same from run to run.
DEFAULT_SPLIT_SEED = 0


def read_conversations(definition: BotDefinition, parts: Parts) -> list[list[str]]:
    """The corpus the YAML names, cut at ``corpus.max_pairs`` prompt/reply pairs when that is set.

    Conversations of fewer than two turns hold no pair and are left out. Raises
    :class:`CorpusError` when nothing is left.
    """
    corpus = definition.config.corpus
    args: dict[str, Any] = dict(corpus.options)
    if corpus.path is not None:
        args["path"] = definition.resolve(corpus.path)
    reader = parts.corpus_readers.create(
        corpus.reader, args, where=f"{definition.path}: corpus.reader"
    )
    conversations = _take_pairs(reader.conversations(), corpus.max_pairs, corpus.reader)
    if not conversations:
        raise CorpusError(
            f"{definition.path}: corpus.reader {corpus.reader!r} gave no conversation of two turns"
        )
    return conversations


def _take_pairs(
    stream: Iterator[list[str]], max_pairs: int | None, reader: str
) -> list[list[str]]:
    conversations: list[list[str]] = []
    pairs = 0
    try:
        for turns in stream:
            if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
                raise CorpusError(f"corpus reader {reader!r} yielded {turns!r}, not a list of str")
            if len(turns) < 2:
                continue
            if max_pairs is not None and pairs + len(turns) - 1 >= max_pairs:
                conversations.append(turns[: max_pairs - pairs + 1])
                break
            conversations.append(turns)
            pairs += len(turns) - 1
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return conversations


def split_dialogues(
    config: BotConfig, conversations: list[list[str]]
) -> tuple[list[list[str]], list[list[str]]]:
    """The training and validation conversations, the same split wherever it is asked for."""
    seed = config.training.seed if config.training.seed is not None else DEFAULT_SPLIT_SEED
    return split_conversations(conversations, config.corpus.validation_fraction, seed)


def load_or_train_tokenizer(
    definition: BotDefinition, parts: Parts, conversations: list[list[str]]
) -> Tokenizer:
    """The workspace's tokenizer if it was built with the same settings; else train and save one.

    It is trained on every turn of the training conversations (not the validation ones), so the
    vocabulary is built once and reused by every later run. Only the first process of a
    distributed run writes it.
    """
    settings = definition.config.tokenizer
    path = definition.workspace / TOKENIZER_FILE
    where = f"{definition.path}: tokenizer.name"
    saved = _read_saved(path) if path.is_file() else None
    if saved is not None:
        if _same_settings(saved, settings.name, settings.vocab_size, settings.options):
            return tokenizer_from_json(parts, saved["name"], saved["state"], where=where)
        log.info("%s was built with other tokenizer settings; training a new one", path)
    tokenizer = parts.tokenizers.create(settings.name, dict(settings.options), where=where)
    training, _ = split_dialogues(definition.config, conversations)
    tokenizer.train((turn for turns in training for turn in turns), settings.vocab_size)
    if is_global_zero():  # the other processes of a distributed run train the same one
        _write_saved(path, settings.name, settings.vocab_size, settings.options, tokenizer)
    return tokenizer


def tokenizer_from_json(
    parts: Parts, name: str, text: str, where: str = "checkpoint: tokenizer"
) -> Tokenizer:
    """Rebuild a tokenizer from its registered name and ``to_json()`` text (from a checkpoint)."""
    factory = parts.tokenizers.get(name, where)
    return factory.from_json(text)


def _read_saved(path: Path) -> dict[str, Any] | None:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        log.warning("%s is unreadable (%s); training a new tokenizer", path, error)
        return None
    if not isinstance(saved, dict) or not {"name", "state"} <= saved.keys():
        log.warning("%s is not a tokenizer file; training a new tokenizer", path)
        return None
    return saved


def _same_settings(
    saved: dict[str, Any], name: str, vocab_size: int, options: dict[str, Any]
) -> bool:
    if saved["name"] != name:
        return False
    # Files without these keys predate them; the name alone decides.
    return saved.get("vocab_size", vocab_size) == vocab_size and saved.get(
        "options", options
    ) == options


def _write_saved(
    path: Path, name: str, vocab_size: int, options: dict[str, Any], tokenizer: Tokenizer
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "name": name,
        "vocab_size": vocab_size,
        "options": options,
        "state": tokenizer.to_json(),
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)
