"""The user's mistakes as one line each, ``botframework: error: ...``, and exit code 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USAGE_ERROR = 2
INTERRUPTED = 130


class CommandError(Exception):
    """A mistake on the command line (a missing file, a busy port); the message names it."""


def input_path(option: str, value: str) -> Path:
    """``value`` as a file the command reads; a :class:`CommandError` if there is none."""
    path = Path(value)
    if path.is_dir():
        raise CommandError(f"{option} {value}: is a folder, not a file")
    if not path.is_file():
        raise CommandError(f"{option} {value}: no such file")
    return path


def output_path(option: str, value: str) -> Path:
    """``value`` as a file the command writes: in a folder that exists, not itself a folder."""
    path = Path(value)
    if path.is_dir():
        raise CommandError(f"{option} {value}: is a folder, not a file")
    if not path.parent.is_dir():
        raise CommandError(f"{option} {value}: folder {path.parent} does not exist")
    return path


def run_handler(args: argparse.Namespace) -> int:
    """Run the sub-command; the user's mistakes become one line on stderr and exit code 2."""
    from botframework.checkpoint import CheckpointError
    from botframework.config import ConfigError
    from botframework.data.corpus import CorpusError

    try:
        with _loaded_models_reported():
            return int(args.handler(args) or 0)
    except (CommandError, ConfigError, CorpusError, CheckpointError) as error:
        return _report(str(error))
    except OSError as error:
        return _report(_describe_os_error(error))
    except KeyboardInterrupt:
        return INTERRUPTED


def _report(message: str) -> int:
    print(f"botframework: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _describe_os_error(error: OSError) -> str:
    reason = (error.strerror or str(error)).lower()
    return f"{error.filename}: {reason}" if error.filename else reason


class _StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (tests swap it), prefixed like errors."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"botframework: {self.format(record)}", file=sys.stderr, flush=True)


@contextmanager
def _loaded_models_reported() -> Iterator[None]:
    """Every command that loads a model says which checkpoint (``Bot.load`` logs it at INFO)."""
    logger = logging.getLogger("botframework.bot")
    handler = _StderrHandler(logging.INFO)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
