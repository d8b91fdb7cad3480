"""``benchmarks/load.py BOT.yaml --scale``: the same users and messages against three set-ups on
one PostgreSQL database each:

1. one ``serve`` process;
2. ``serve --workers 2`` (one port, ``SO_REUSEPORT``);
3. three ``serve`` processes behind a round-robin "load balancer" (this script), one of which is
   killed with SIGKILL once half the messages are answered.

Each run prints messages/s, ack p50/p99, reply p50/p99 and whether every message was answered
exactly once (each user waits for a reply before sending the next, so order holds when that
does); then the throughput ratio of 2 workers to 1 process. Each run gets a fresh database in a
throw-away PostgreSQL cluster (Debian's ``postgresql`` package), removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
from load import drive, server_ack_quantile, stand_in, start_server

from botframework.messenger.testing import FakeGraphApi
from botframework.messenger.testing_postgres import ThrowAwayCluster, postgres_bindir

#: Seconds a SIGKILLed process's users wait before another process takes them over.
CLAIM_TIMEOUT_S = 3.0
#: Seconds the stand-in holds sends before the kill, for replies already accepted to be recorded.
HOLD_BEFORE_KILL_S = 0.2
#: Seconds ``--workers`` may take to have every worker listening before the clock starts.
WORKERS_START_S = 120.0

#: (name, server processes, --workers of each, SIGKILL the first one mid-way)
SETUPS = (
    ("1 process", 1, 1, False),
    ("2 workers", 1, 2, False),
    ("3 processes, 1 killed", 3, 1, True),
)


def run_scale(args: argparse.Namespace) -> int:
    runs = []
    with _postgres() as new_database:
        for name, processes, workers, kill in SETUPS:
            url = asyncio.run(new_database())
            runs.append(asyncio.run(run_setup(args, name, url, processes, workers, kill)))
            print(json.dumps(runs[-1]), flush=True)
    if runs[0]["messages_per_s"]:
        ratio = runs[1]["messages_per_s"] / runs[0]["messages_per_s"]
        print(json.dumps({"workers_2_vs_1_process": round(ratio, 2)}))
    return 0 if all(run["answered_exactly_once"] for run in runs) else 1


@contextmanager
def _postgres() -> Iterator[Callable[[], Awaitable[str]]]:
    """A function that makes a fresh database in a throw-away cluster and returns its URL."""
    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("--scale needs PostgreSQL's initdb (apt-get install postgresql)")
    cluster = ThrowAwayCluster(bindir)
    cluster.start()

    async def fresh() -> str:
        import asyncpg

        name = f"load_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(cluster.url())
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        return cluster.url(name)

    try:
        yield fresh
    finally:
        cluster.stop()


async def run_setup(
    args: argparse.Namespace, name: str, store: str, processes: int, workers: int, kill: bool
) -> dict[str, object]:
    fake, arrivals, events = stand_in()
    graph_url = await fake.start()
    options = ("--store", store, "--workers", str(workers), "--claim-timeout", str(CLAIM_TIMEOUT_S))
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        state = Path(tmp) / "state"
        servers = [
            await start_server(args, graph_url, True, state, options, f"server-{i}.log")
            for i in range(processes)
        ]
        if workers > 1:
            await _all_listening(Path(tmp) / "server-0.log", workers)
        urls = [url for _, url in servers]
        killer = (
            asyncio.create_task(_kill_midway(args, fake, servers[0][0], urls, arrivals))
            if kill
            else None
        )
        try:
            result = await drive(args, urls, arrivals, events)
            await asyncio.sleep(1.0 + (CLAIM_TIMEOUT_S if kill else 0))  # late duplicates
            if processes == 1:  # its /metrics covers every worker
                result.update(await _server_ack(urls[0]))
        finally:
            if killer is not None:
                killer.cancel()
            for process, _ in servers:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(process.wait(), 60)
            await fake.stop()
    counts = [len(arrivals[f"user{index}"]) for index in range(args.users)]
    exactly_once = counts == [args.messages] * args.users and len(arrivals) == args.users
    wrong = {f"user{i}": n for i, n in enumerate(counts) if n != args.messages}
    return {"setup": name, **result, "answered_exactly_once": exactly_once, "wrong_counts": wrong}


async def _server_ack(url: str) -> dict[str, str | None]:
    """The server's own ack time (its histogram's buckets holding p50 and p99), without the
    client's and the network's share."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/metrics") as response:
            metrics = await response.text()
    return {f"server_ack_p{q}": server_ack_quantile(metrics, q) for q in (50, 99)}


async def _all_listening(log: Path, workers: int) -> None:
    """Wait until each of ``workers`` has said it listens (its model and decode process loaded)."""
    deadline = time.monotonic() + WORKERS_START_S
    while log.read_text(errors="replace").count("Running on") < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"{workers} workers did not start within {WORKERS_START_S:g} s")
        await asyncio.sleep(0.1)


async def _kill_midway(args, fake: FakeGraphApi, process, urls: list[str], arrivals) -> None:
    """SIGKILL ``process`` once half the messages are answered; the balancer then drops it.

    The stand-in holds every send for a moment around the kill, so the kill lands while replies
    are being generated or sent, not in the milliseconds between Meta accepting a reply and the
    store recording it: a kill there makes the next process send that reply again (no
    Send API call can be made idempotent), and this run measures the rest of the machinery.
    """
    half = args.users * args.messages // 2
    while sum(len(times) for times in arrivals.values()) < half:
        await asyncio.sleep(0.01)
    fake.hang_all = True
    await asyncio.sleep(HOLD_BEFORE_KILL_S)
    process.send_signal(signal.SIGKILL)
    del urls[0]
    fake.release()
