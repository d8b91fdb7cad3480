"""Guards on every request: slow bodies time out, compressed bodies are refused (signatures are
over the raw bytes), and secrets of any length are masked in the access log."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time

import aiohttp
import pytest

from botframework.messenger import ServerSettings, create_app, logs
from botframework.messenger.logs import ScrubbingAccessLogger
from botframework.messenger.testing import signed, text_event, webhook_body

from .conftest import APP_SECRET, EchoModel, echo_bot

SLOW_PATHS = ["/webhook", "/api/chat"]


@pytest.mark.parametrize("path", SLOW_PATHS)
async def test_a_body_sent_too_slowly_gets_408_and_the_connection_closes(make_server, path) -> None:
    client = await make_server(body_timeout=1.0)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    started = time.monotonic()
    try:
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # b"" only once closed
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < 4


async def test_a_body_sent_in_time_is_not_cut_off_by_a_slow_model(make_server) -> None:
    client = await make_server([echo_bot(model=EchoModel(delay=1.5))], body_timeout=1.0)
    response = await client.post("/api/chat", json={"text": "hi"})
    assert response.status == 200 and (await response.json())["reply"] == "echo: hi"


async def test_gzip_bodies_are_refused_whoever_signed_what(make_server, graph) -> None:
    client = await make_server()
    plain, headers = signed(webhook_body(text_event("u1", "hi", "m1")), APP_SECRET)
    zipped = gzip.compress(plain)
    # Signed over the unzipped bytes (accepted before), or over the bytes actually sent.
    for raw_signed in (plain, zipped):
        response = await client.post(
            "/webhook",
            data=zipped,
            headers={**signed(raw_signed, APP_SECRET)[1], "Content-Encoding": "gzip"},
        )
        assert response.status == 415
        assert "uncompressed" in (await response.json())["error"]
    await asyncio.sleep(0.2)
    assert graph[0].messages == []
    counts = await (await client.get("/metrics")).text()
    assert 'botframework_inbox_events{state="pending"} 0' in counts
    assert 'botframework_inbox_events{state="done"} 0' in counts


@pytest.fixture
def short_secret():
    secret = "q7"
    yield secret
    logs._known.discard(secret)


async def test_secrets_of_any_length_are_masked_in_the_access_log(
    aiohttp_server, short_secret, caplog, tmp_path
) -> None:
    settings = ServerSettings.from_env(tmp_path, {"MESSENGER_VERIFY_TOKEN": short_secret})
    server = await aiohttp_server(
        create_app([echo_bot()], settings), access_log_class=ScrubbingAccessLogger
    )
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    async with aiohttp.ClientSession() as session:
        async with session.get(server.make_url(f"/privacy?ref={short_secret}&x=1")) as response:
            assert response.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any("/privacy?ref=***&x=1" in line for line in lines), lines
    assert not any(short_secret in line for line in lines)
