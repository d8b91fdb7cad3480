"""The Send API client: retries with backoff and jitter on transient failures, none on permanent.

A *transport* only moves one request (:class:`AiohttpTransport` by default; the pymessenger plugin
is another); :class:`SendApi` decides what a response means and whether to try again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from botframework.messenger.backoff import RetryPolicy, SharedBackoff
from botframework.messenger.logs import scrub
from botframework.messenger.messaging_window import OutsideMessagingWindow
from botframework.messenger.metrics import Metrics
from botframework.messenger.signature import appsecret_proof

log = logging.getLogger(__name__)

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v25.0"
#: Meta's transient, rate-limit and temporary-failure codes: retried with backoff.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 1200})
#: Invalid token, outside the messaging window, user unavailable, no matching user: never retried.
PERMANENT_CODES = frozenset({10, 100, 190, 551})
#: Meta allows this tag (7 days after the user's last message) only on messages a person wrote.
HUMAN_AGENT_TAG = "HUMAN_AGENT"


@dataclass(frozen=True)
class GraphResponse:
    status: int
    body: dict[str, Any]


class TransportError(ConnectionError):
    """The request got no HTTP answer (connection failure, timeout); worth retrying.

    Transports may raise any ``ConnectionError`` or ``TimeoutError``; the client wraps them."""


class Transport(Protocol):
    """Sends one Graph API POST; raises :class:`TransportError` when no answer came back."""

    async def post(
        self, path: str, access_token: str, payload: dict[str, Any]
    ) -> GraphResponse: ...

    async def close(self) -> None: ...


class GraphApiError(Exception):
    """The Graph API refused a request; the message never contains the token."""

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        retryable: bool,
        subcode: int | None = None,
    ) -> None:
        self.status, self.code, self.subcode, self.retryable = status, code, subcode, retryable
        detail = (
            f"code {code}" + (f"/{subcode}" if subcode else "") if code is not None else "no code"
        )
        super().__init__(scrub(f"Graph API error ({detail}, HTTP {status}): {message}"))

    @classmethod
    def from_response(cls, response: GraphResponse) -> GraphApiError:
        error = response.body.get("error")
        error = error if isinstance(error, dict) else {}
        code = _as_int(error.get("code"))
        subcode = _as_int(error.get("error_subcode"))
        message = str(error.get("message") or f"HTTP {response.status}")
        return cls(response.status, code, message, _retryable(response.status, error), subcode)


def _retryable(status: int, error: dict[str, Any]) -> bool:
    code = _as_int(error.get("code"))
    if code in PERMANENT_CODES:
        return False
    if code in TRANSIENT_CODES or error.get("is_transient") is True:
        return True
    return status >= 500 or status == 429


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class AiohttpTransport:
    """The default transport: one ``aiohttp.ClientSession`` with a total timeout per request.

    The token travels as the documented ``access_token`` query parameter, with
    ``appsecret_proof`` when an app secret is given; neither ever appears in an error message.
    """

    def __init__(
        self,
        graph_api_url: str,
        app_secret: str | None = None,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.graph_api_url = graph_api_url.rstrip("/")
        self.app_secret = app_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(limit=200)
            )
        return self._session

    async def post(self, path: str, access_token: str, payload: dict[str, Any]) -> GraphResponse:
        return await self._request("POST", path, access_token, json=payload)

    async def get(self, path: str, access_token: str, query: dict[str, str]) -> GraphResponse:
        """A Graph API GET (the user profile); same token handling as :meth:`post`."""
        return await self._request("GET", path, access_token, query=query)

    async def _request(
        self,
        method: str,
        path: str,
        access_token: str,
        json: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> GraphResponse:
        params = {**(query or {}), "access_token": access_token}
        if self.app_secret:
            params["appsecret_proof"] = appsecret_proof(self.app_secret, access_token)
        try:
            async with self.session.request(
                method, self.graph_api_url + path, params=params, json=json, timeout=self.timeout
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                return GraphResponse(response.status, body if isinstance(body, dict) else {})
        except asyncio.TimeoutError:
            raise TransportError(
                f"no answer from the Graph API within {self.timeout.total} s"
            ) from None
        except aiohttp.ClientError as error:
            raise TransportError(scrub(f"{type(error).__name__}: {error}")) from None

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()


class SendApi:
    """Messages and sender actions through a transport, with the retry policy applied.

    Rate-limit and transient failures start a backoff shared by every send with the same token."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy = RetryPolicy(),
        metrics: Metrics | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.metrics = metrics or Metrics()
        self.backoff = SharedBackoff(policy, sleep)

    async def send_text(
        self, access_token: str, recipient_id: str, text: str, deadline: float | None = None
    ) -> dict[str, Any]:
        """Send one text message (at most 2000 characters) as a ``RESPONSE``; retries stop at
        ``deadline`` (epoch seconds: the messaging window's end)."""
        if not text.strip():
            raise ValueError("refusing to send an empty message")
        return await self.send_message(access_token, recipient_id, {"text": text}, deadline)

    async def send_message(
        self,
        access_token: str,
        recipient_id: str,
        message: dict[str, Any],
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Send one ``message`` object (text or attachment, maybe quick replies) as a
        ``RESPONSE``, retried like :meth:`send_text`."""
        payload = {
            "recipient": {"id": recipient_id},
            "messaging_type": "RESPONSE",
            "message": message,
        }
        return await self.call("/me/messages", access_token, payload, deadline=deadline)

    async def pass_thread_control(
        self, access_token: str, recipient_id: str, target_app_id: str, metadata: str = ""
    ) -> dict[str, Any]:
        """Hand the conversation with ``recipient_id`` to another app (handover protocol),
        retried like a message."""
        payload: dict[str, Any] = {
            "recipient": {"id": recipient_id},
            "target_app_id": int(target_app_id),
        }
        if metadata:
            payload["metadata"] = metadata
        return await self.call("/me/pass_thread_control", access_token, payload)

    async def sender_action(self, access_token: str, recipient_id: str, action: str) -> bool:
        """``mark_seen`` / ``typing_on`` / ``typing_off``: one attempt, failures only logged;
        skipped while the token backs off, so they never add to a rate limit."""
        if self.backoff.backing_off(access_token):
            return False
        payload = {"recipient": {"id": recipient_id}, "sender_action": action}
        try:
            await self.call("/me/messages", access_token, payload, retry=False)
        except (GraphApiError, TransportError) as error:
            log.debug("sender action %s failed: %s", action, error)
            return False
        return True

    async def user_profile(
        self, access_token: str, user_id: str, fields: list[str]
    ) -> dict[str, Any]:
        """``GET /{PSID}?fields=...``: one attempt; raises :class:`GraphApiError` or
        :class:`TransportError` (also when the transport cannot GET)."""
        get = getattr(self.transport, "get", None)
        if get is None:
            raise TransportError(f"{type(self.transport).__name__} cannot fetch user profiles")
        try:
            response = await get(f"/{user_id}", access_token, {"fields": ",".join(fields)})
        except (ConnectionError, TimeoutError) as error:
            raise TransportError(scrub(str(error))) from None
        if 200 <= response.status < 300 and "error" not in response.body:
            return response.body
        raise GraphApiError.from_response(response)

    async def call(
        self,
        path: str,
        access_token: str,
        payload: dict[str, Any],
        retry: bool = True,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """POST ``payload``; retry transient failures within the policy's budget; raise the last
        error when giving up, :class:`OutsideMessagingWindow` when a retry would pass
        ``deadline``."""
        if payload.get("tag") == HUMAN_AGENT_TAG:
            raise ValueError(
                "the HUMAN_AGENT tag is for messages a person writes, never the bot's own"
            )
        started, attempts, wait = time.monotonic(), 0, 0.0
        while True:
            async with self.backoff.turn(access_token) as probing:
                outcome = await self._attempt(path, access_token, payload)
                if not isinstance(outcome, Exception):
                    self.backoff.succeeded(access_token)
                    return outcome
                if _retryable_failure(outcome):
                    wait = self.backoff.failed(access_token, probing)
            attempts += 1
            if not _retryable_failure(outcome):
                self._log_permanent(outcome)
                raise outcome
            if not retry or self.policy.exhausted(attempts, time.monotonic() - started):
                if retry:
                    log.warning("Send API call failed after %d attempts: %s", attempts, outcome)
                raise outcome
            if deadline is not None and time.time() + wait >= deadline:
                raise OutsideMessagingWindow(
                    f"the messaging window closes before the next retry ({outcome})"
                ) from None
            self.metrics.send_retries.inc()
            log.info("Send API call failed (%s); retry %d in %.2f s", outcome, attempts, wait)

    async def _attempt(
        self, path: str, access_token: str, payload: dict[str, Any]
    ) -> dict[str, Any] | GraphApiError | TransportError:
        """One POST: the response body, or the failure (counted in the metrics)."""
        try:
            response = await self.transport.post(path, access_token, payload)
        except (ConnectionError, TimeoutError) as error:
            self.metrics.send_errors.inc(code="transport")
            if isinstance(error, TransportError):
                return error
            return TransportError(scrub(str(error)))
        if 200 <= response.status < 300 and "error" not in response.body:
            return response.body
        failure = GraphApiError.from_response(response)
        self.metrics.send_errors.inc(code=str(failure.code))
        return failure

    @staticmethod
    def _log_permanent(error: GraphApiError | TransportError) -> None:
        if getattr(error, "code", None) == 190:
            log.error("%s — the Page access token is invalid or expired; replace it", error)
        else:
            log.warning("not retrying: %s", error)


def _retryable_failure(failure: GraphApiError | TransportError) -> bool:
    return isinstance(failure, TransportError) or failure.retryable
