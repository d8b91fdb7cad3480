"""``serve --workers N``: N server processes sharing one port (``SO_REUSEPORT``) and one store.

The kernel spreads new connections over the processes; each loads the bots, batches its own
decodes and claims users in the shared store, so any of them may answer any user. A worker that
fails to start (exit code 2: a busy port, an unusable store) stops them all; one that crashes
later is replaced.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from botframework.cli.errors import USAGE_ERROR, run_handler

log = logging.getLogger(__name__)


def serve_workers(args: argparse.Namespace, count: int) -> int:
    """Run ``count`` copies of ``serve`` until SIGTERM/SIGINT; the exit code of the first worker
    that could not start, else 0."""
    context = multiprocessing.get_context("spawn")  # no torch state is forked
    workers = [_start(context, args, count) for _ in range(count)]
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _supervise(context, args, workers, stopping, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _supervise(context, args, workers, stopping, stop) -> int:  # type: ignore[no-untyped-def]
    while any(worker.is_alive() for worker in workers):
        time.sleep(0.2)
        for index, worker in enumerate(workers):
            if worker.is_alive() or stopping:
                continue
            if worker.exitcode == USAGE_ERROR:
                stop(signal.SIGTERM, None)
                _join(workers)
                return USAGE_ERROR
            log.warning("worker %s exited (%s); starting another", worker.pid, worker.exitcode)
            workers[index] = _start(context, args, len(workers))
    return 0


def _join(workers: list[BaseProcess]) -> None:
    for worker in workers:
        worker.join()


def _start(context, args: argparse.Namespace, count: int) -> BaseProcess:  # type: ignore[no-untyped-def]
    worker = context.Process(target=_serve_one, args=(args, count), daemon=False)
    worker.start()
    return worker


def _serve_one(args: argparse.Namespace, count: int) -> None:
    """One worker: the whole ``serve`` command on a shared port, with its share of the cores."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // count))
    args.workers, args.reuse_port = 1, True
    raise SystemExit(run_handler(args))
