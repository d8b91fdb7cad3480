"""End to end with a trained bot: webhook -> batched model -> Send API; the ``serve`` command."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from botframework.messenger import ServedBot
from botframework.messenger.testing import FakeGraphApi, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, post_events, wait_for
from .test_process import free_port, post

pytestmark = pytest.mark.slow


async def test_trained_bot_answers_messenger_users_and_the_web_chat(
    make_server, graph, tiny_bot
) -> None:
    served = ServedBot.from_bot(tiny_bot)
    client = await make_server([served])
    prompts = {"hi": "hello there", "how are you ?": "i am fine thanks", "bye": "see you later"}
    await post_events(client, *(text_event(f"u{i}", p, f"m{i}") for i, p in enumerate(prompts)))
    await wait_for(lambda: len(graph[0].messages) == 3, timeout=30)
    assert {m.text for m in graph[0].messages} == set(prompts.values())
    chat = await (
        await client.post("/api/chat", json={"text": "good night", "candidates": True})
    ).json()
    assert chat["reply"] == "sleep well" and chat["candidates"][0]["text"] == "sleep well"


async def serve(
    bot_yaml, graph_url: str, log, *options: str, store: str = ""
) -> tuple[asyncio.subprocess.Process, str]:
    """``serve BOT.yaml --port P *options`` in a subprocess, once Messenger is on; and its URL."""
    port = free_port()
    env = {
        **os.environ,
        "MESSENGER_APP_SECRET": APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
        "MESSENGER_GRAPH_API_URL": graph_url,
        "BOTFRAMEWORK_STORE": store,
    }
    command = ["-m", "botframework.messenger", "serve", str(bot_yaml), "--port", str(port)]
    with open(log, "wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, *options, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            assert process.returncode is None, log.read_text()
            try:
                async with session.get(url + "/healthz") as response:
                    if (await response.json())["messenger"]:
                        return process, url
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"serve did not start: {log.read_text()}")


async def test_serve_command_with_a_trained_bot(aiohttp_server, tiny_bot_yaml, tmp_path) -> None:
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET)
    graph_url = str((await aiohttp_server(fake.app())).make_url("/v25.0"))
    blocklist = ["--set", "settings.blocklist.words=[jazz]"]
    state = ["--state-dir", str(tmp_path / "state")]
    process, url = await serve(tiny_bot_yaml, graph_url, tmp_path / "serve.log", *state, *blocklist)
    try:
        async with aiohttp.ClientSession() as session:
            events = [text_event("u1", "hi", "m1"), text_event("u2", "do you like music ?", "m2")]
            assert await post(session, url, *events) == 200
            await wait_for(lambda: len(fake.messages) == 2, timeout=30)
            [decode] = _spawned_children(process.pid)  # the model decodes in a child process
            os.kill(decode, signal.SIGKILL)
            # reaped: the server has seen it die (a message in the same instant would fail)
            await wait_for(lambda: not os.path.exists(f"/proc/{decode}"), timeout=10)
            assert await post(session, url, text_event("u3", "bye", "m3")) == 200
            await wait_for(lambda: len(fake.messages) == 3, timeout=60)
            [replacement] = _spawned_children(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    assert fake.texts("u1") == ["hello there"]
    assert fake.texts("u2") == ["Let's talk about something else."]  # "yes i love jazz", vetoed
    assert fake.texts("u3") == ["see you later"] and replacement != decode
    assert not os.path.exists(f"/proc/{replacement}")


def _spawned_children(parent: int) -> list[int]:
    """The live processes multiprocessing spawned under ``parent`` (not its helpers): the
    ``serve --workers`` processes, or a server process's decode processes."""
    workers = []
    children = []
    for task in Path(f"/proc/{parent}/task").iterdir():  # a thread's children are listed there
        try:
            children += (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
    for pid in children:
        try:
            command = open(f"/proc/{pid}/cmdline", "rb").read()
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:  # it ended meanwhile
            continue
        if b"spawn_main" in command and b"resource_tracker" not in command and state != "Z":
            workers.append(int(pid))
    return workers


def _running(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_serve_workers_share_the_port_and_a_postgresql_store(
    aiohttp_server, tiny_bot_yaml, tmp_path, postgres_url
) -> None:
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN}, app_secret=APP_SECRET)
    graph_url = str((await aiohttp_server(fake.app())).make_url("/v25.0"))
    log = tmp_path / "serve.log"
    process, url = await serve(
        tiny_bot_yaml, graph_url, log, "--workers", "2", store=postgres_url
    )
    prompts = ["hi", "how are you ?", "bye"]
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for(lambda: len(_spawned_children(process.pid)) == 2, timeout=20)
            for i, prompt in enumerate(prompts):
                for u in range(8):  # new connections, spread over both workers by the kernel
                    async with aiohttp.ClientSession() as fresh:
                        event = text_event(f"u{u}", prompt, f"m{u}-{i}", timestamp=i)
                        assert await post(fresh, url, event) == 200
            await wait_for(lambda: len(fake.messages) == 24, timeout=60)
            await asyncio.sleep(0.5)
            async with session.get(url + "/metrics") as response:  # either worker: the sum
                metrics = await response.text()
            workers = _spawned_children(process.pid)
            [orphan] = _spawned_children(workers[0])  # its decode process
            os.kill(workers[0], signal.SIGKILL)  # a crashed worker is replaced
            await wait_for(lambda: workers[0] not in _spawned_children(process.pid), timeout=30)
            await wait_for(lambda: not _running(orphan), timeout=10)  # and its decode ends
            await wait_for(lambda: len(_spawned_children(process.pid)) == 2, timeout=30)
    finally:
        workers = _spawned_children(process.pid)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0, log.read_text()
    assert len(workers) == 2 and not any(os.path.exists(f"/proc/{pid}") for pid in workers)
    assert "botframework_replies_total 24.0" in metrics
    assert 'botframework_webhook_requests_total{status="200"} 24.0' in metrics
    replies = ["hello there", "i am fine thanks", "see you later"]
    assert all(fake.texts(f"u{u}") == replies for u in range(8)), fake.messages


async def test_serve_workers_on_a_busy_port_stop_with_one_line(
    tiny_bot_yaml, tmp_path, postgres_url
) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        command = ["serve", str(tiny_bot_yaml), "--workers", "2", "--port", port]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "botframework", *command, "--store", postgres_url,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 2
    # Both workers write to one stderr (each may say it, and their lines may interleave), so the
    # error is looked for in every line, not only the last
    said = [line for line in stderr.decode().splitlines() if "address already in use" in line]
    assert said and all(f"--port {port}: address already in use" in line for line in said)
    assert "Traceback" not in stderr.decode()
