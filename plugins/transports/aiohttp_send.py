"""The default Send API transport (``channel.transport: aiohttp``): one aiohttp client session."""

from __future__ import annotations

from botframework import AiohttpTransport, hookimpl


@hookimpl
def register_transports(register) -> None:
    register("aiohttp", AiohttpTransport)
