"""Send API transports are plugins: registered through ``register_transports`` and picked by name."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from botframework import hookimpl
from botframework.config import ConfigError
from botframework.messenger.app import load_transport
from botframework.messenger.testing import text_event
from botframework.plugins import build_plugin_manager

from .conftest import echo_bot, post_events, wait_for


class RecordingTransport:
    """Answers every request itself, as a third-party transport would, and records it."""

    posts: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, graph_api_url: str, app_secret: str | None = None, timeout: float = 10.0):
        self.graph_api_url = graph_api_url

    async def post(self, path: str, access_token: str, payload: dict[str, Any]) -> SimpleNamespace:
        RecordingTransport.posts.append((path, payload))
        return SimpleNamespace(status=200, body={"message_id": "mid.1"})

    async def close(self) -> None:
        pass


class RecordingPlugin:
    @hookimpl
    def register_transports(self, register) -> None:
        register("recording", RecordingTransport)


async def test_a_registered_transport_carries_the_replies(make_server, graph) -> None:
    RecordingTransport.posts.clear()
    client = await make_server([echo_bot(transport="recording", plugins=(RecordingPlugin(),))])
    await post_events(client, text_event("u1", "by plugin", "m1"))
    await wait_for(lambda: any(p.get("message") for _, p in RecordingTransport.posts))
    texts = [p["message"]["text"] for _, p in RecordingTransport.posts if p.get("message")]
    assert texts == ["echo: by plugin"]
    assert graph[0].messages == []  # nothing went through the default aiohttp transport


def test_builtin_transports_are_registered_plugins() -> None:
    manager = build_plugin_manager(entry_points=False)
    assert {"transports.aiohttp", "transports.pymessenger"} <= {n for n, _ in manager.list_name_plugin()}
    transport = load_transport("aiohttp", manager.hook, "http://127.0.0.1:9", None, 1.0)
    assert type(transport).__name__ == "AiohttpTransport"


def test_unknown_transport_lists_the_registered_ones() -> None:
    hook = build_plugin_manager(entry_points=False).hook
    with pytest.raises(
        ConfigError,
        match=r"channel.transport: unknown transport 'carrier_pigeon'; "
        r"registered transports: aiohttp, pymessenger",
    ):
        load_transport("carrier_pigeon", hook, "http://127.0.0.1:9", None, 1.0)
