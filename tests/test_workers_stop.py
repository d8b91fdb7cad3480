"""``serve --workers``: a SIGTERM that arrives while a crashed worker's replacement is starting
stops the replacement too (before, the parent then waited for it forever)."""

from __future__ import annotations

import argparse
import signal

from botframework.cli import workers


class _Worker:
    """What the supervisor reads of a worker process; the fake ``os.kill`` below ends it."""

    def __init__(self, pid: int, alive: bool = True, exitcode: int | None = None) -> None:
        self.pid, self.alive, self.exitcode = pid, alive, exitcode

    def is_alive(self) -> bool:
        return self.alive


def test_a_replacement_started_during_sigterm_is_stopped_too(monkeypatch) -> None:
    first, crashed, replacement = _Worker(1), _Worker(2, alive=False, exitcode=-9), _Worker(3)
    to_start = [first, crashed]
    handlers: dict[int, object] = {}
    killed: list[int] = []

    def start(context, args, count) -> _Worker:
        if to_start:
            return to_start.pop(0)
        handlers[signal.SIGTERM](signal.SIGTERM, None)  # the SIGTERM lands mid-start
        return replacement

    def kill(pid: int, signum: int) -> None:
        assert signum == signal.SIGTERM
        killed.append(pid)
        for worker in (first, crashed, replacement):
            worker.alive = worker.alive and worker.pid != pid

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) > 50:
            raise AssertionError(f"the parent still waits; SIGTERM went to {killed} only")

    monkeypatch.setattr(workers, "_start", start)
    monkeypatch.setattr(
        workers.signal, "signal", lambda sig, handler: handlers.setdefault(sig, handler)
    )
    monkeypatch.setattr(workers.os, "kill", kill)
    monkeypatch.setattr(workers.time, "sleep", sleep)
    monkeypatch.setattr(workers.multiprocess, "mark_process_dead", lambda pid: None)
    assert workers._serve(argparse.Namespace(), 2) == 0
    assert killed == [1, 3]  # each live worker once: the first, then the replacement
