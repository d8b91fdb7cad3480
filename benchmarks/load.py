"""Load test of the Messenger server: N users x M messages against a real server process.

    python benchmarks/load.py BOT.yaml [--users 40] [--messages 5] [--beam-size 10 --antilm 0.5]
                              [--compare-batching | --scale]
                              [--checkpoint PATH] [--set KEY=VALUE ...]

A stand-in Graph API runs in this process on 127.0.0.1; ``botframework.messenger serve`` runs in a
subprocess. Every user sends a message, waits for the reply, sends the next. Prints messages/s, ack
p50/p99 (webhook POST -> 200) and reply p50/p99 (POST -> the Send API call arriving), and checks
that every message was answered exactly once. ``--compare-batching`` runs again with
``channel.batching=false`` and prints the throughput ratio. ``--scale`` runs the PostgreSQL
set-ups instead (see ``benchmarks/scale.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp

from botframework.messenger.testing import (
    FakeGraphApi,
    SentMessage,
    signed,
    text_event,
    webhook_body,
)

APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN = "load-app-secret", "load-verify-token", "load-page-token"
PROMPTS = [
    "hi",
    "how are you ?",
    "what is your name ?",
    "do you like music ?",
    "what time is it ?",
    "tell me a joke",
    "good morning",
    "where do you live ?",
    "what do you eat ?",
    "bye",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def start_server(
    args: argparse.Namespace,
    graph_url: str,
    batching: bool,
    state: Path,
    serve_options: tuple[str, ...] = (),
    log_name: str = "",
):
    """``serve`` in a subprocess with ``serve_options`` (e.g. ``--store URL --workers 2``)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "botframework.messenger",
        "serve",
        args.bot,
        "--port",
        str(port),
        "--state-dir",
        str(state),
        *serve_options,
    ]
    for option in ("checkpoint", "beam_size", "antilm", "n_bonus"):
        value = getattr(args, option)
        if value is not None:
            command += ["--" + option.replace("_", "-"), str(value)]
    if getattr(args, "no_decode_process", False):
        command.append("--no-decode-process")
    for override in [*args.overrides, f"channel.batching={str(batching).lower()}"]:
        command += ["--set", override]
    env = {
        **os.environ,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "MESSENGER_GRAPH_API_URL": graph_url,
        "BOTFRAMEWORK_LOG_LEVEL": "WARNING",
    }
    log = open(state.parent / (log_name or f"server-{'on' if batching else 'off'}.log"), "wb")
    process = await asyncio.create_subprocess_exec(*command, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            if process.returncode is not None:
                raise SystemExit(f"server exited with {process.returncode}; see {log.name}")
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return process, url
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start within 120 s")


def stand_in() -> tuple[FakeGraphApi, dict[str, list[float]], dict[str, asyncio.Event]]:
    """The Graph API stand-in, when each user's replies arrived, and an event set on each."""
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET)
    arrivals: dict[str, list[float]] = defaultdict(list)
    events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def on_message(sent: SentMessage) -> None:
        arrivals[sent.recipient].append(time.perf_counter())
        events[sent.recipient].set()

    fake.on_message = on_message
    return fake, arrivals, events


async def run_once(args: argparse.Namespace, batching: bool) -> dict[str, object]:
    fake, arrivals, events = stand_in()
    graph_url = await fake.start()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp:
        process, url = await start_server(args, graph_url, batching, Path(tmp) / "state")
        try:
            result = await drive(args, [url], arrivals, events)
            await asyncio.sleep(1.0)  # late duplicates would arrive now
            counts = {user: len(times) for user, times in arrivals.items()}
            result["answered_exactly_once"] = len(counts) == args.users and set(
                counts.values()
            ) == {args.messages}
            async with aiohttp.ClientSession() as session:
                async with session.get(url + "/metrics") as response:
                    metrics = await response.text()
            result["mean_batch_size"] = mean_batch_size(metrics)
            result["server_ack_p50"] = server_ack_quantile(metrics, 50)
            result["server_ack_p99"] = server_ack_quantile(metrics, 99)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
            await fake.stop()
    return {"batching": batching, **result}


async def drive(args, urls, arrivals, events) -> dict[str, object]:
    """Every user sends a message, waits for its reply, sends the next. Message ``n`` of user
    ``i`` goes to ``urls[(i + n) % len(urls)]`` (a load balancer's spread); a POST that cannot
    connect (the process died) is sent to the next URL, as Meta re-delivers. ``urls`` may shrink
    while this runs."""
    acks: list[float] = []
    replies: list[float] = []
    failures: list[str] = []

    async def deliver(session: aiohttp.ClientSession, spread: int, raw: bytes, headers) -> int:
        for attempt in range(len(urls) + 1):
            url = urls[(spread + attempt) % len(urls)]
            try:
                async with session.post(url + "/webhook", data=raw, headers=headers) as response:
                    return response.status
            except aiohttp.ClientError:
                continue
        return 0

    async def user(session: aiohttp.ClientSession, index: int) -> None:
        name = f"user{index}"
        for number in range(args.messages):
            text = PROMPTS[(index + number) % len(PROMPTS)]
            raw, headers = signed(
                webhook_body(text_event(name, text, f"{name}-m{number}")), APP_SECRET
            )
            events[name].clear()
            started = time.perf_counter()
            status = await deliver(session, index + number, raw, headers)
            acks.append(time.perf_counter() - started)
            if status != 200:
                failures.append(f"{name}: HTTP {status}")
                return
            while len(arrivals[name]) <= number:
                try:
                    await asyncio.wait_for(events[name].wait(), args.timeout)
                except asyncio.TimeoutError:
                    failures.append(f"{name}: no reply to message {number}")
                    return
                events[name].clear()
            replies.append(arrivals[name][number] - started)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in urls:
            warm = await session.post(url + "/webhook", data=b"{}")  # wakes it up; 403 expected
            warm.release()
        started = time.perf_counter()
        await asyncio.gather(*(user(session, index) for index in range(args.users)))
        elapsed = time.perf_counter() - started
    total = len(replies)
    return {
        "users": args.users,
        "messages_per_user": args.messages,
        "answered": total,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(total / elapsed, 2),
        "ack_p50_ms": round(percentile(acks, 50) * 1000, 1),
        "ack_p99_ms": round(percentile(acks, 99) * 1000, 1),
        "reply_p50_ms": round(percentile(replies, 50) * 1000, 1) if replies else None,
        "reply_p99_ms": round(percentile(replies, 99) * 1000, 1) if replies else None,
        "failures": failures[:10],
    }


def server_ack_quantile(metrics: str, q: float) -> str | None:
    """The histogram bucket holding the server-side ack time's ``q`` quantile, e.g. "<= 25 ms"."""
    buckets = []
    for line in metrics.splitlines():
        if line.startswith('botframework_webhook_ack_seconds_bucket{le="'):
            bound = line.split('"')[1]
            buckets.append(
                (float("inf") if bound == "+Inf" else float(bound), float(line.split()[1]))
            )
    if not buckets or not buckets[-1][1]:
        return None
    total = buckets[-1][1]
    bound = next(bound for bound, count in buckets if count >= q / 100 * total)
    return f"<= {bound * 1000:g} ms"


def mean_batch_size(metrics: str) -> float | None:
    values = {}
    for line in metrics.splitlines():
        for name in ("botframework_batch_size_sum", "botframework_batch_size_count"):
            if line.startswith(name + " "):
                values[name] = float(line.split()[1])
    count = values.get("botframework_batch_size_count")
    return round(values["botframework_batch_size_sum"] / count, 2) if count else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("bot", metavar="BOT.yaml")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--checkpoint")
    parser.add_argument("--beam-size", type=int)
    parser.add_argument("--antilm", type=float)
    parser.add_argument("--n-bonus", type=float)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--compare-batching", action="store_true", help="also run with batching off"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one reply")
    parser.add_argument(
        "--no-decode-process",
        action="store_true",
        help="serve with --no-decode-process (the decode in a thread of each server process)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="on PostgreSQL: 1 process, 2 workers, and 3 processes with one SIGKILLed mid-way",
    )
    args = parser.parse_args()
    if args.users < 1 or args.messages < 1:
        parser.error("--users and --messages must be positive")
    if args.scale:
        from scale import run_scale

        return run_scale(args)
    runs = [asyncio.run(run_once(args, batching=True))]
    if args.compare_batching:
        runs.append(asyncio.run(run_once(args, batching=False)))
    for run in runs:
        print(json.dumps(run))
    if len(runs) == 2 and runs[1]["messages_per_s"]:
        ratio = runs[0]["messages_per_s"] / runs[1]["messages_per_s"]
        print(json.dumps({"batching_speedup": round(ratio, 2)}))
    return 0 if all(run["answered_exactly_once"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
