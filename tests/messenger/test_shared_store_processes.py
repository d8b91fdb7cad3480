"""Two real server processes on one PostgreSQL store, one killed with SIGKILL mid-stream: every
message is answered exactly once, and each user's in the order sent."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import aiohttp

from botframework.messenger.testing import FakeGraphApi, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, wait_for
from .test_process import ServerProcess, post

USERS, MESSAGES = 6, 3


async def test_a_process_killed_mid_stream_loses_nothing_and_doubles_nothing(
    aiohttp_server, tmp_path, postgres_url
) -> None:
    # The stand-in accepts 8 replies, then holds every send: both processes are mid-stream.
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET, accept_limit=8)
    graph_url = str((await aiohttp_server(fake.app())).make_url("/v25.0"))
    log = tmp_path / "servers.log"
    doomed, survivor = (
        ServerProcess(tmp_path / name, graph_url, log, 0.02, postgres_url, claim_timeout=2.0)
        for name in ("doomed", "survivor")
    )
    await doomed.start()
    await survivor.start()
    async with aiohttp.ClientSession() as session:
        for i in range(MESSAGES):  # each user's messages alternate between the two processes
            for u in range(USERS):
                server = (doomed, survivor)[(u + i) % 2]
                event = text_event(f"u{u}", f"{u}-{i}", f"m{u}-{i}", timestamp=i)
                assert await post(session, server.url, event) == 200
    await wait_for(lambda: len(fake.messages) == 8, timeout=20)
    await asyncio.sleep(0.3)  # the 8 accepted replies are recorded; the kill hits held sends
    assert await doomed.stop(signal.SIGKILL) == -signal.SIGKILL
    fake.release()

    await wait_for(lambda: len(fake.messages) == USERS * MESSAGES, timeout=30)
    async with aiohttp.ClientSession() as session:  # a re-delivery to the other process: dropped
        assert await post(session, survivor.url, text_event("u0", "0-0", "m0-0")) == 200
    await asyncio.sleep(0.5)  # time for a wrong second answer to arrive
    sent = Counter((m.recipient, m.text) for m in fake.messages)
    expected = {(f"u{u}", f"echo: {u}-{i}") for u in range(USERS) for i in range(MESSAGES)}
    assert set(sent) == expected and set(sent.values()) == {1}
    for u in range(USERS):
        assert fake.texts(f"u{u}") == [f"echo: {u}-{i}" for i in range(MESSAGES)]
    assert await survivor.stop(signal.SIGTERM) == 0
