"""A served bot's decode in a child process of its own, so the server's event loop only does I/O.

Torch releases the interpreter lock only inside its kernels: a decode in a thread of the server
process makes the event loop (webhook acknowledgements, the web chat) wait between torch ops. The
child builds the same bot from a picklable loader (a module-level function or a ``partial`` of
one) and answers ``generate`` calls one batch at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from botframework.allocator import keep_freed_memory
from botframework.decoding.candidate import Candidate

log = logging.getLogger(__name__)

#: How often the child checks that the server process that started it is still there.
ORPHAN_CHECK_S = 1.0


class Generates(Protocol):
    def generate(self, dialogues: Sequence[Sequence[str]]) -> list[list[Candidate]]: ...


#: Builds the bot in the child; must pickle (a module-level function or a ``partial`` of one).
BotLoader = Callable[[], Generates]


class DecodeProcessDied(RuntimeError):
    """The child process died (killed, out of memory) while a batch was waiting for it."""


class DecodeProcess:
    """``Bot.generate``'s shape (a batch of dialogues -> candidates per dialogue), decoded in one
    spawned child process that holds its own copy of the bot.

    Call :meth:`start` before serving: it returns once the child has loaded the model, and raises
    the child's own error (a bad checkpoint, say) when it cannot. A call blocks its (worker) thread
    until the child answers; a child that dies fails the batches waiting for it with
    :class:`DecodeProcessDied` and a new one is started at once for the next batch.
    """

    def __init__(self, load_bot: BotLoader, name: str = "decode") -> None:
        self.load_bot = load_bot
        self.name = name
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._loaded: Future[int] | None = None
        self._closed = False

    def start(self) -> int:
        """Start the child and wait until it has loaded the bot; its process id."""
        self._running_pool()
        loaded = self._loaded
        assert loaded is not None
        try:
            return loaded.result()
        except BrokenProcessPool:
            raise DecodeProcessDied(f"{self.name}: the decode process died while loading") from None

    @property
    def pid(self) -> int | None:
        """The child's process id, once it has loaded the bot."""
        loaded = self._loaded
        if loaded is None or not loaded.done() or loaded.exception() is not None:
            return None
        return loaded.result()

    def __call__(self, dialogues: list[list[str]]) -> list[list[Candidate]]:
        """The child's ``generate(dialogues)``; :class:`DecodeProcessDied` if it dies meanwhile."""
        pool = self._running_pool()
        try:
            answer = pool.submit(_generate, self.load_bot, dialogues)
        except BrokenProcessPool:  # it died while idle: nothing was lost, the next child answers
            self._replace(pool)
            pool = self._running_pool()
            answer = pool.submit(_generate, self.load_bot, dialogues)
        try:
            return answer.result()
        except BrokenProcessPool:
            self._replace(pool)
            raise DecodeProcessDied(
                f"{self.name}: the decode process died during a batch of {len(dialogues)}; "
                "a new one answers the next batch"
            ) from None

    def close(self) -> None:
        """Stop the child once it has finished the batch it is decoding."""
        with self._lock:
            pool, self._pool, self._closed = self._pool, None, True
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _running_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: the decode process was closed")
            if self._pool is None:
                self._spawn()
            assert self._pool is not None
            return self._pool

    def _spawn(self) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # no torch state is forked
            initializer=_prepare_child,
            initargs=(os.getpid(),),
        )
        self._loaded = self._pool.submit(_load, self.load_bot)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken or self._closed:  # replaced already, or closing
                return
            log.error("%s: the decode process died; starting another", self.name)
            broken.shutdown(wait=False, cancel_futures=True)
            self._spawn()


# What follows runs in the child.

_bot: Generates | None = None


def _prepare_child(parent_pid: int) -> None:
    """Leave stopping to the server (it closes the child after its graceful shutdown), keep freed
    memory for the decoding steps, and exit when the server process is gone (even after
    ``kill -9``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    keep_freed_memory()
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)


def _loaded_bot(load_bot: BotLoader) -> Generates:
    global _bot
    if _bot is None:
        _bot = load_bot()
    return _bot


def _load(load_bot: BotLoader) -> int:
    _loaded_bot(load_bot)
    return os.getpid()


def _generate(load_bot: BotLoader, dialogues: list[list[str]]) -> list[list[Candidate]]:
    return _loaded_bot(load_bot).generate(dialogues)

