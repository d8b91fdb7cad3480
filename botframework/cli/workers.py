"""``serve --workers N``: N server processes sharing one port (``SO_REUSEPORT``) and one store.

The kernel spreads new connections over the processes; each loads the bots, batches its own
decodes (run in its own decode process) and claims users in the shared store, so any of them may
answer any user. A worker that fails to start (exit code 2: a busy port, an unusable store)
stops them all; one that crashes later is replaced. Their metrics meet in a
``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary folder unless the environment names one, which is
emptied first).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

from botframework.cli.errors import USAGE_ERROR, run_handler
from botframework.messenger.metrics import MULTIPROCESS_ENV

log = logging.getLogger(__name__)


def serve_workers(args: argparse.Namespace, count: int) -> int:
    """Run ``count`` copies of ``serve`` until SIGTERM/SIGINT; the exit code of the first worker
    that could not start, else 0."""
    with _metrics_folder():
        return _serve(args, count)


@contextmanager
def _metrics_folder() -> Iterator[None]:
    chosen = os.environ.get(MULTIPROCESS_ENV)
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="botframework-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(folder)
    try:
        yield
    finally:
        if not chosen:
            del os.environ[MULTIPROCESS_ENV]
            shutil.rmtree(folder, ignore_errors=True)


def _serve(args: argparse.Namespace, count: int) -> int:
    context = multiprocessing.get_context("spawn")  # no torch state is forked
    workers = [_start(context, args, count) for _ in range(count)]
    stopping: list[int] = []
    signalled: set[int] = set()

    def stop(signum: int, frame: FrameType | None) -> None:
        """SIGTERM to every live worker not sent one yet (a second would cut its graceful stop)."""
        stopping.append(signum)
        for worker in workers:
            if worker.is_alive() and worker.pid is not None and worker.pid not in signalled:
                signalled.add(worker.pid)
                os.kill(worker.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _supervise(context, args, workers, stopping, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _supervise(
    context: SpawnContext,
    args: argparse.Namespace,
    workers: list[BaseProcess],
    stopping: list[int],
    stop: Callable[[int, FrameType | None], None],
) -> int:
    while not stopping or any(worker.is_alive() for worker in workers):
        time.sleep(0.2)
        for index, worker in enumerate(workers):
            if worker.is_alive() or stopping:
                continue
            multiprocess.mark_process_dead(worker.pid)
            if worker.exitcode == USAGE_ERROR:  # it said why on stderr; the others would too
                stop(signal.SIGTERM, None)
                _join(workers)
                return USAGE_ERROR
            log.warning("worker %s exited (%s); starting another", worker.pid, worker.exitcode)
            workers[index] = _start(context, args, len(workers))
            if stopping:  # the signal came while it was starting, before stop() could see it
                stop(stopping[-1], None)
    return 0


def _join(workers: list[BaseProcess]) -> None:
    for worker in workers:
        worker.join()


def _start(context: SpawnContext, args: argparse.Namespace, count: int) -> BaseProcess:
    worker = context.Process(target=_serve_one, args=(args, count), daemon=False)
    worker.start()
    return worker


def _serve_one(args: argparse.Namespace, count: int) -> None:
    """One worker: the whole ``serve`` command on a shared port, with its share of the cores."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // count))
    args.workers, args.reuse_port = 1, True
    raise SystemExit(run_handler(args))
