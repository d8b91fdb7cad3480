"""A Send API transport built on ``pymessenger`` (``channel.transport: pymessenger``).

pymessenger is synchronous (``requests``), so every call runs in a small thread pool and never
blocks the event loop; the server's Send API client applies the same retries as with aiohttp.
The transport contract is the ``register_transports`` hook's. pymessenger and requests are imported
when the transport is built, not when the plugin is registered.
"""

from __future__ import annotations

import asyncio
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botframework import hookimpl

_TOKEN = re.compile(r"(access_token|appsecret_proof)=[^&\s]+")


@dataclass(frozen=True)
class PymessengerResponse:
    status: int
    body: dict[str, Any]


@functools.cache
def _timed_bot_class() -> type:
    import requests
    from pymessenger.bot import Bot as PymessengerBot

    class TimedBot(PymessengerBot):
        """pymessenger's bot with a request timeout and the HTTP status kept (it drops both)."""

        timeout: float = 10.0

        def post(self, path: str, payload: dict[str, Any]) -> PymessengerResponse:
            response = requests.post(
                f"{self.graph_url}{path}", params=self.auth_args, json=payload, timeout=self.timeout
            )
            try:
                body = response.json()
            except ValueError:
                body = {}
            return PymessengerResponse(response.status_code, body if isinstance(body, dict) else {})

    return TimedBot


class PymessengerTransport:
    """One pymessenger bot per Page token, calls run in threads."""

    def __init__(
        self,
        graph_api_url: str,
        app_secret: str | None = None,
        timeout: float = 10.0,
        workers: int = 8,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.graph_api_url = graph_api_url.rstrip("/")
        self.app_secret = app_secret
        self.timeout = timeout
        import requests

        self._request_error = requests.RequestException
        self._bot_class = _timed_bot_class()
        self._bots: dict[str, Any] = {}
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pymessenger")

    def _bot(self, access_token: str) -> Any:
        if access_token not in self._bots:
            bot = self._bot_class(access_token, app_secret=self.app_secret)
            bot.graph_url = self.graph_api_url
            bot.timeout = self.timeout
            self._bots[access_token] = bot
        return self._bots[access_token]

    async def post(
        self, path: str, access_token: str, payload: dict[str, Any]
    ) -> PymessengerResponse:
        bot = self._bot(access_token)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, bot.post, path, payload)
        except self._request_error as error:
            raise ConnectionError(
                _TOKEN.sub(r"\1=***", f"{type(error).__name__}: {error}")
            ) from None

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@hookimpl
def register_transports(register) -> None:
    register("pymessenger", PymessengerTransport)
