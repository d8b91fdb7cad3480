"""A real server process: killed with SIGKILL after acking, restarted, every message answered once;
graceful SIGTERM; secrets kept out of its logs (access log included)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from botframework.messenger.testing import (
    FakeGraphApi,
    signed,
    text_event,
    webhook_body,
)

from .conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, wait_for

ECHO_SERVER = Path(__file__).with_name("echo_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(
        self,
        state_dir: Path,
        graph_url: str,
        log: Path,
        delay: float = 0.0,
        store_url: str | None = None,
        claim_timeout: float = 30.0,
    ) -> None:
        self.state_dir, self.graph_url, self.log, self.delay = state_dir, graph_url, log, delay
        self.store_url, self.claim_timeout = store_url, claim_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
            "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
            "MESSENGER_GRAPH_API_URL": self.graph_url,
            "BOTFRAMEWORK_STORE": self.store_url or "",
        }
        with open(self.log, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ECHO_SERVER),
                str(self.state_dir),
                str(self.port),
                str(self.delay),
                str(self.claim_timeout),
                env=env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.process.returncode is None, self.log.read_text()
                try:
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.1)

    async def stop(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 20)


async def post(session: aiohttp.ClientSession, url: str, *events: dict) -> int:
    raw, headers = signed(webhook_body(*events), APP_SECRET)
    async with session.post(url + "/webhook", data=raw, headers=headers) as response:
        return response.status


async def test_sigkill_after_ack_then_restart_answers_every_message_once(
    aiohttp_server, tmp_path
) -> None:
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET, accept_limit=3)
    graph_url = str((await aiohttp_server(fake.app())).make_url("/v25.0"))
    state, log = tmp_path / "state", tmp_path / "server.log"
    expected = {(f"u{u}", f"echo: {u}-{i}") for u in range(5) for i in range(2)}

    first = ServerProcess(state, graph_url, log)
    await first.start()
    async with aiohttp.ClientSession() as session:
        for i in range(2):
            events = [text_event(f"u{u}", f"{u}-{i}", f"m{u}-{i}", timestamp=i) for u in range(5)]
            assert await post(session, first.url, *events) == 200
    await wait_for(lambda: len(fake.messages) == 3, timeout=20)
    await asyncio.sleep(0.3)  # let the three accepted replies be marked done
    assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
    answered_before = len(fake.messages)
    fake.release()

    second = ServerProcess(state, graph_url, log)
    await second.start()
    await wait_for(lambda: len(fake.messages) == 10, timeout=20)
    async with aiohttp.ClientSession() as session:  # Meta re-delivers: still answered once
        assert await post(session, second.url, text_event("u0", "0-0", "m0-0")) == 200
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "7"}
        async with session.get(second.url + "/webhook", params=query) as response:
            assert await response.text() == "7"
    await asyncio.sleep(0.5)
    sent = Counter((m.recipient, m.text) for m in fake.messages)
    assert answered_before == 3
    assert set(sent) == expected and set(sent.values()) == {1}
    for user in range(5):
        assert fake.texts(f"u{user}") == [f"echo: {user}-0", f"echo: {user}-1"]

    assert await second.stop(signal.SIGTERM) == 0
    output = log.read_text()
    assert "/webhook?hub.mode=subscribe" in output  # the access log ran...
    for secret in (VERIFY_TOKEN, APP_SECRET, PAGE_TOKEN):
        assert secret not in output  # ...without the token


async def test_sigterm_while_generating_leaves_work_for_the_next_start(
    aiohttp_server, tmp_path
) -> None:
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET)
    graph_url = str((await aiohttp_server(fake.app())).make_url("/v25.0"))
    state, log = tmp_path / "state", tmp_path / "server.log"
    slow = ServerProcess(state, graph_url, log, delay=1.5)
    await slow.start()
    async with aiohttp.ClientSession() as session:
        events = [text_event("u1", f"n{i}", f"m{i}", timestamp=i) for i in range(4)]
        assert await post(session, slow.url, *events) == 200
    await asyncio.sleep(0.2)
    assert await slow.stop(signal.SIGTERM) == 0  # finishes "n0" (in flight), keeps the rest
    fast = ServerProcess(state, graph_url, log)
    await fast.start()
    await wait_for(lambda: len(fake.messages) == 4, timeout=20)
    assert fake.texts("u1") == [f"echo: n{i}" for i in range(4)]
    assert await fast.stop(signal.SIGTERM) == 0
