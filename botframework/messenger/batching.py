"""Concurrent users' generate requests, gathered into one decoder call run off the event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from botframework.decoding.candidate import Candidate

log = logging.getLogger(__name__)

#: ``Bot.generate``'s shape: a batch of dialogues (turns, newest last) -> candidates per dialogue.
BatchGenerate = Callable[[list[list[str]]], list[list[Candidate]]]


class Batcher:
    """Collects ``submit`` calls into batches of at most ``max_size``.

    The first waiting request opens a batch; the batch closes when it is full or ``max_wait``
    seconds later, whichever comes first. Requests that arrive while a batch is generating wait for
    the next one, so under load batches fill up without waiting. ``generate`` runs in one worker
    thread (the model is serialised anyway), never on the event loop; ``serve`` makes it a
    :class:`~botframework.messenger.decode_process.DecodeProcess`, so the thread only waits. A
    failed call fails no request by itself: see :meth:`_generate`.
    """

    def __init__(
        self,
        generate: BatchGenerate,
        max_size: int = 32,
        max_wait: float = 0.01,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {max_size}")
        if max_wait < 0:
            raise ValueError(f"max_wait must not be negative, got {max_wait}")
        self.generate = generate
        self.max_size = max_size
        self.max_wait = max_wait
        self.on_batch = on_batch
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[list[Candidate]]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

    async def submit(self, dialogue: Sequence[str]) -> list[Candidate]:
        """The candidates, best first, for one dialogue."""
        if self._worker is None:
            self._start()
        assert self._queue is not None
        future: asyncio.Future[list[Candidate]] = asyncio.get_running_loop().create_future()
        await self._queue.put((list(dialogue), future))
        return await future

    @property
    def waiting(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    def _start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="batcher")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                future.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_size:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            await self._generate(batch)

    async def _generate(
        self, batch: list[tuple[list[str], asyncio.Future[list[Candidate]]]]
    ) -> None:
        """Generate for ``batch`` and hand each request its candidates. When the call fails, the
        batch's halves are generated again, down to single dialogues, so that a dialogue that
        cannot be answered (or that kills a decode process) fails alone, not its batch-mates."""
        batch = [(dialogue, future) for dialogue, future in batch if not future.done()]
        if not batch:
            return
        dialogues = [dialogue for dialogue, _ in batch]
        started = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.generate, dialogues
            )
            if len(results) != len(dialogues):
                raise RuntimeError(
                    f"generate returned {len(results)} results for {len(dialogues)} dialogues"
                )
        except Exception as error:  # noqa: BLE001 - handed to the one request it belongs to
            if len(batch) > 1:
                log.warning(
                    "generating a batch of %d failed (%s); generating its halves again",
                    len(batch),
                    type(error).__name__,
                )
                middle = len(batch) // 2
                await self._generate(batch[:middle])
                await self._generate(batch[middle:])
                return
            log.exception("generating a reply failed")
            batch[0][1].set_exception(error)
            return
        self._record(len(batch), time.perf_counter() - started)
        for (_, future), candidates in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(list(candidates))

    def _record(self, size: int, seconds: float) -> None:
        if self.on_batch is not None:
            self.on_batch(size, seconds)
