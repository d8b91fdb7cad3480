"""``POST /api/chat`` refuses bad input before the model runs, and only answers its own page
(same-origin JSON); the web chat's API and ``/metrics`` can be turned off or need a token."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import EchoModel, echo_bot

JSON = {"Content-Type": "application/json"}
BAD_BODIES = {
    "unhashable bot": b'{"text": "hi", "bot": ["x"]}',
    "lone surrogate in text": b'{"text": "hi \\ud800"}',
    "lone surrogate in session": b'{"text": "hi", "session": "\\udc00"}',
    "deep nesting": b'{"text": "hi", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "number session": b'{"text": "hi", "session": 7}',
    "string candidates": b'{"text": "hi", "candidates": "yes"}',
    "not an object": b'["hi"]',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_input_gets_a_4xx_json_error_before_the_model_runs(make_server, body) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model)])
    response = await client.post("/api/chat", data=body, headers=JSON)
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]
    assert model.batches == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {},
    ],
)
async def test_only_json_is_accepted(make_server, headers: dict[str, str]) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model)])
    response = await client.post("/api/chat", data=b'{"text": "hi"}', headers=headers)
    assert response.status == 415 and "application/json" in (await response.json())["error"]
    assert model.batches == []


async def test_other_sites_are_refused_and_the_own_page_is_answered(make_server) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model)])
    own = f"http://{client.host}:{client.port}"

    async def status(**headers: str) -> int:
        response = await client.post("/api/chat", json={"text": "hi"}, headers=headers)
        return response.status

    assert await status(Origin="https://evil.example") == 403
    assert await status(**{"Sec-Fetch-Site": "cross-site"}) == 403
    assert await status(**{"Sec-Fetch-Site": "same-site", "Origin": own}) == 403
    assert await status(Origin="null") == 403
    assert model.batches == []
    assert await status(Origin=own, **{"Sec-Fetch-Site": "same-origin"}) == 200
    proxied = {"Origin": "https://chat.example.com", "X-Forwarded-Host": "chat.example.com"}
    assert await status(**proxied) == 200
    assert await status() == 200  # curl and scripts send neither header


async def test_tokens_from_the_environment_guard_the_api_and_metrics(make_server) -> None:
    tokens = {"BOTFRAMEWORK_WEB_CHAT_TOKEN": "chat-secret", "BOTFRAMEWORK_METRICS_TOKEN": "m3trics"}
    client = await make_server(env=tokens)

    async def status(method: str, path: str, token: str | None, **kwargs: Any) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return (await client.request(method, path, headers=headers, **kwargs)).status

    chat = {"json": {"text": "hi"}}
    assert await status("POST", "/api/chat", None, **chat) == 401
    assert await status("POST", "/api/chat", "wrong", **chat) == 401
    assert await status("POST", "/api/chat", "m3trics", **chat) == 401
    assert await status("GET", "/api/bots", None) == 401
    assert await status("POST", "/api/chat", "chat-secret", **chat) == 200
    assert await status("GET", "/api/bots", "chat-secret") == 200
    assert await status("GET", "/", None) == 200  # the page itself is static
    assert await status("GET", "/metrics", None) == 401
    assert await status("GET", "/metrics", "m3trics") == 200
    assert await status("GET", "/healthz", None) == 200


async def test_metrics_and_web_chat_can_be_turned_off(make_server) -> None:
    client = await make_server(metrics=False, web_chat=False)
    assert (await client.get("/metrics")).status == 404
    assert (await client.post("/api/chat", json={"text": "hi"})).status == 404
    assert (await client.get("/healthz")).status == 200
