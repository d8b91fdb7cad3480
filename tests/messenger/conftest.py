"""Fixtures for the Messenger server: a fake Graph API, echo bots, and a server factory."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest
from aiohttp.test_utils import TestClient

from botframework import hookspecs
from botframework.config.schema import ChannelConfig
from botframework.decoding.candidate import Candidate
from botframework.messenger import ServedBot, ServerSettings, create_app
from botframework.messenger.testing import FakeGraphApi, signed, webhook_body
from botframework.plugin_settings import validate_settings

APP_SECRET = "test-app-secret-0123456789"
VERIFY_TOKEN = "test-verify-token-42"
PAGE_TOKEN = "page-token"
FAST_CHANNEL = {
    "retry_base_delay_s": 0.01,
    "retry_max_delay_s": 0.05,
    "send_timeout_s": 2.0,
    "send_max_attempts": 4,
}


class EchoModel:
    """A deterministic stand-in for ``Bot.generate``: replies ``echo: <last turn>``.

    Records every batch; ``gate`` (when set) blocks generation until released.
    """

    def __init__(self, delay: float = 0.0, reply: Callable[[list[str]], str] | None = None) -> None:
        self.delay = delay
        self.reply = reply or (lambda dialogue: f"echo: {dialogue[-1]}")
        self.batches: list[list[list[str]]] = []
        self.gate: threading.Event | None = None

    def __call__(self, dialogues: list[list[str]]) -> list[list[Candidate]]:
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if self.delay:
            time.sleep(self.delay)
        self.batches.append([list(d) for d in dialogues])
        return [
            [
                Candidate([], -1.0, {"model": -1.0}, self.reply(d)),
                Candidate([], -2.5, {"model": -2.5}, "second best"),
            ]
            for d in dialogues
        ]


def hook_with(*plugins: object) -> pluggy.HookRelay:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for plugin in plugins:
        manager.register(plugin)
    return manager.hook


def echo_bot(
    name: str = "echo",
    model: EchoModel | None = None,
    plugins: tuple[object, ...] = (),
    settings: dict[str, Any] | None = None,
    **channel: Any,
) -> ServedBot:
    """A served echo bot; ``settings`` is the YAML's plugin ``settings`` section."""
    from botframework_plugins.pipeline import blocklist
    from botframework_plugins.transports import aiohttp_send, pymessenger_send

    hook = hook_with(blocklist, aiohttp_send, pymessenger_send, *plugins)
    config = ChannelConfig(**{**FAST_CHANNEL, **channel})
    path = Path(f"{name}.yaml")
    return ServedBot(
        name,
        hook,
        model or EchoModel(),
        config,
        privacy_policy=channel.get("privacy_policy"),
        settings=validate_settings(hook, settings or {}, path, channel=config.model_extra),
    )


@pytest.fixture
async def graph(aiohttp_server: Any) -> tuple[FakeGraphApi, str]:
    fake = FakeGraphApi(access_tokens={PAGE_TOKEN, "second-page-token"}, app_secret=APP_SECRET)
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("/v25.0"))


@pytest.fixture
def make_server(
    aiohttp_client: Any, graph: tuple[FakeGraphApi, str], tmp_path: Path
) -> Callable[..., Awaitable[TestClient]]:
    """``await make_server(bots=[...], env={...})`` -> a test client of a running server."""

    async def make(
        bots: list[ServedBot] | None = None,
        env: dict[str, str] | None = None,
        state_dir: Path | None = None,
        **settings: Any,
    ) -> TestClient:
        environ = {
            "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
            "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
            "MESSENGER_GRAPH_API_URL": graph[1],
        }
        environ.update(env or {})
        environ = {key: value for key, value in environ.items() if value}
        settings.setdefault("shutdown_grace", 0.5)
        server_settings = ServerSettings.from_env(
            state_dir or tmp_path / "state", environ, **settings
        )
        return await aiohttp_client(create_app(bots or [echo_bot()], server_settings))

    return make


async def post_events(client: TestClient, *events: dict[str, Any], page: str = "1000") -> Any:
    raw, headers = signed(webhook_body(*events, page=page), APP_SECRET)
    return await client.post("/webhook", data=raw, headers=headers)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def post_profile(url: str, channel) -> dict[str, object]:
    """``set_profile`` of ``channel`` against the stand-in Graph API at ``url``; Meta's answer."""
    from botframework.messenger.profile import set_profile
    from botframework.messenger.send_api import AiohttpTransport, RetryPolicy, SendApi

    transport = AiohttpTransport(url, app_secret=APP_SECRET, timeout=2)
    try:
        return await set_profile(SendApi(transport, RetryPolicy(1)), PAGE_TOKEN, channel)
    finally:
        await transport.close()
