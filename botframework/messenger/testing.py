"""Test helpers: a stand-in Graph API on loopback and builders for signed webhook payloads.

:class:`FakeGraphApi` checks Send API and Messenger Profile requests the way Meta documents them
(token, ``appsecret_proof``, ``recipient``, ``messaging_type``, text length, sender actions, the
profile's menu and ice breakers, ``POST /me/pass_thread_control`` bodies, recorded in
:attr:`handovers`), serves ``GET /{PSID}`` user profiles from :attr:`users`, and
fails on command: an HTTP status, a Graph error code, hanging, or a rate limit (error 613 for
every POST to ``/me/messages``, sender actions included) for a period or a number of requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from botframework.messenger.signature import appsecret_proof, sign
from botframework.messenger.testing_message import message_problem
from botframework.messenger.testing_profile import handover_problem, profile_problem

SENDER_ACTIONS = {"mark_seen", "typing_on", "typing_off"}
MESSAGING_TYPES = {"RESPONSE", "UPDATE", "MESSAGE_TAG"}
USER_PROFILE_FIELDS = {"first_name", "last_name", "profile_pic", "locale", "timezone", "gender"}


@dataclass(frozen=True)
class SentMessage:
    recipient: str
    text: str
    token: str
    at: float
    messaging_type: str = "RESPONSE"
    tag: str | None = None
    #: The whole ``message`` object (text or attachment, quick replies).
    message: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Failure:
    """What to answer instead of success: an HTTP status with a Graph error code, or a hang."""

    status: int = 500
    code: int | None = None
    hang: bool = False
    transient: bool | None = None


@dataclass
class FakeGraphApi:
    """A Graph API stand-in; mount :meth:`app` with ``aiohttp_server`` or :meth:`start`."""

    access_tokens: set[str] = field(default_factory=lambda: {"page-token"})
    app_secret: str | None = None
    messages: list[SentMessage] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    #: Users' profiles served at ``GET /{PSID}`` (PSID -> fields), and each request (PSID, fields).
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    profile_requests: list[tuple[str, str]] = field(default_factory=list)
    #: Every accepted ``pass_thread_control`` body, and failures to answer the next ones with.
    handovers: list[dict[str, Any]] = field(default_factory=list)
    handover_failures: deque[Failure] = field(default_factory=deque)
    user_profile_failures: deque[Failure] = field(default_factory=deque)
    attempts: int = 0
    failures: deque[Failure] = field(default_factory=deque)
    hang_recipients: set[str] = field(default_factory=set)
    hang_all: bool = False
    accept_limit: int | None = None
    #: Every POST to /me/messages: (monotonic time, whether it was refused by the rate limit).
    posts: list[tuple[float, bool]] = field(default_factory=list)
    _limited_until: float = 0.0
    _limited_requests: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)
    _runner: web.AppRunner | None = None
    _released: asyncio.Event | None = None
    #: Called with every accepted message (e.g. to time replies).
    on_message: Any = None

    def release(self) -> None:
        """End every hanging request (with a 503) and stop hanging."""
        self.hang_all, self.accept_limit = False, None
        self.hang_recipients.clear()
        if self._released is not None:
            self._released.set()

    async def _hang(self) -> web.Response:
        if self._released is None or self._released.is_set():
            self._released = asyncio.Event()
        try:
            await asyncio.wait_for(self._released.wait(), 600)
        except asyncio.TimeoutError:
            pass
        return web.Response(status=503, text="released")

    def fail_next(self, *failures: Failure) -> None:
        self.failures.extend(failures)

    def rate_limit(self, seconds: float = 0.0, requests: int = 0) -> None:
        """Answer error 613 to every POST for ``seconds`` and to the next ``requests`` POSTs."""
        self._limited_until = time.monotonic() + seconds
        self._limited_requests = requests

    def rate_limited_posts(self) -> list[float]:
        """When each POST refused by :meth:`rate_limit` arrived (monotonic seconds)."""
        return [at for at, refused in self.posts if refused]

    def _rate_limited(self) -> bool:
        if self._limited_requests > 0:
            self._limited_requests -= 1
            return True
        return time.monotonic() < self._limited_until

    def texts(self, recipient: str | None = None) -> list[str]:
        return [m.text for m in self.messages if recipient is None or m.recipient == recipient]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(r"/{version:[^/]*}/me/messages", self._messages)
        app.router.add_post("/me/messages", self._messages)
        app.router.add_post(r"/{version:[^/]*}/me/messenger_profile", self._profile)
        app.router.add_post("/me/messenger_profile", self._profile)
        app.router.add_post(r"/{version:[^/]*}/me/pass_thread_control", self._pass_thread_control)
        app.router.add_post("/me/pass_thread_control", self._pass_thread_control)
        app.router.add_get(r"/{version:v[0-9.]+}/{psid:[0-9A-Za-z_-]+}", self._user_profile)

        async def release_on_shutdown(app: web.Application) -> None:
            self.release()

        app.on_shutdown.append(release_on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback; returns the base URL (use it as MESSENGER_GRAPH_API_URL)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets  # type: ignore[union-attr]
        return f"http://{host}:{sockets[0].getsockname()[1]}/v25.0"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _check_auth(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if token not in self.access_tokens:
            return _graph_error(400, 190, "Invalid OAuth access token.", "OAuthException")
        if self.app_secret is not None:
            proof = request.query.get("appsecret_proof")
            if proof != appsecret_proof(self.app_secret, token):
                return _graph_error(
                    400, 100, "Invalid appsecret_proof provided in the API argument"
                )
        return None

    async def _messages(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return self._reject("body is not JSON")
        recipient = body.get("recipient") if isinstance(body, dict) else None
        if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str):
            return self._reject("recipient.id is required")
        limited = self._rate_limited()
        self.posts.append((time.monotonic(), limited))
        if limited:
            return _graph_error(
                400, 613, "(#613) Calls to this api have exceeded the rate limit.", "OAuthException"
            )
        if "sender_action" in body:
            if body["sender_action"] not in SENDER_ACTIONS or set(body) != {
                "recipient",
                "sender_action",
            }:
                return self._reject("sender_action must stand alone with a known action")
            self.actions.append((recipient["id"], body["sender_action"]))
            return web.json_response({"recipient_id": recipient["id"]})
        problem = _message_problem(body)
        if problem:
            return self._reject(problem)
        self.attempts += 1
        if (
            self.hang_all
            or recipient["id"] in self.hang_recipients
            or (self.accept_limit is not None and len(self.messages) >= self.accept_limit)
        ):
            return await self._hang()
        if self.failures:
            failure = self.failures.popleft()
            if failure.hang:
                return await self._hang()
            if failure.code is None:
                return web.Response(status=failure.status, text="<html>Server Error</html>")
            return _graph_error(
                failure.status, failure.code, "Scripted failure", transient=failure.transient
            )
        token = request.query["access_token"]
        sent = SentMessage(
            recipient["id"],
            body["message"].get("text", ""),
            token,
            time.time(),
            body["messaging_type"],
            body.get("tag"),
            body["message"],
        )
        self.messages.append(sent)
        if self.on_message is not None:
            self.on_message(sent)
        return web.json_response(
            {"recipient_id": recipient["id"], "message_id": f"m_{next(self._ids)}"}
        )

    async def _profile(self, request: web.Request) -> web.Response:
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        body = await request.json()
        problem = profile_problem(body, self.profiles)
        if problem:
            return self._reject(problem)
        self.profiles.append(body)
        return web.json_response({"result": "success"})

    async def _pass_thread_control(self, request: web.Request) -> web.Response:
        """``{"recipient": {"id": PSID}, "target_app_id": APP_ID, "metadata"?: str}``."""
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        body = await request.json()
        problem = handover_problem(body)
        if problem:
            return self._reject(problem)
        if self.handover_failures:
            failure = self.handover_failures.popleft()
            return _graph_error(failure.status, failure.code or 10, "Scripted failure")
        self.handovers.append(body)
        return web.json_response({"success": True})

    async def _user_profile(self, request: web.Request) -> web.Response:
        """``GET /{PSID}?fields=first_name,...`` with the Page token."""
        refused = self._check_auth(request)
        if refused is not None:
            return refused
        psid = request.match_info["psid"]
        fields = request.query.get("fields", "")
        self.profile_requests.append((psid, fields))
        asked = fields.split(",") if fields else []
        if not asked or not set(asked) <= USER_PROFILE_FIELDS:
            return self._reject(f"fields must name some of {sorted(USER_PROFILE_FIELDS)}")
        if self.user_profile_failures:
            failure = self.user_profile_failures.popleft()
            return _graph_error(failure.status, failure.code or 2, "Scripted failure")
        if psid not in self.users:
            return _graph_error(400, 100, "(#100) No profile available for this user.")
        known = self.users[psid]
        return web.json_response({**{k: known[k] for k in asked if k in known}, "id": psid})

    def _reject(self, problem: str) -> web.Response:
        self.rejected.append(problem)
        return _graph_error(400, 100, f"(#100) {problem}")


def _message_problem(body: dict[str, Any]) -> str | None:
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return "messaging_type is required"
    if (body["messaging_type"] == "MESSAGE_TAG") != ("tag" in body):
        return "a tag goes with messaging_type MESSAGE_TAG, and only with it"
    return message_problem(body.get("message"))


def _graph_error(
    status: int,
    code: int,
    message: str,
    kind: str = "GraphMethodException",
    transient: bool | None = None,
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "Afake"}
    if transient is not None:
        error["is_transient"] = transient
    return web.json_response({"error": error}, status=status)


def text_event(
    user: str, text: str, mid: str, page: str = "1000", timestamp: int | None = None
) -> dict[str, Any]:
    """A ``messaging`` item for a text message from ``user`` to ``page``."""
    return {
        "sender": {"id": user},
        "recipient": {"id": page},
        "timestamp": timestamp if timestamp is not None else int(time.time() * 1000),
        "message": {"mid": mid, "text": text},
    }


def quick_reply_event(user: str, title: str, payload: str, mid: str) -> dict[str, Any]:
    """A ``messaging`` item for a tap on the quick reply ``title`` (which sends ``payload``)."""
    event = text_event(user, title, mid)
    event["message"]["quick_reply"] = {"payload": payload}
    return event


def postback_event(user: str, title: str, payload: str, mid: str) -> dict[str, Any]:
    """A ``messaging`` item for a tap on a postback button or menu item."""
    event = text_event(user, title, mid)
    del event["message"]
    event["postback"] = {"mid": mid, "title": title, "payload": payload}
    return event


def webhook_body(*events: dict[str, Any], page: str = "1000") -> dict[str, Any]:
    """A page webhook POST body with one entry holding ``events``."""
    return {
        "object": "page",
        "entry": [{"id": page, "time": int(time.time() * 1000), "messaging": list(events)}],
    }


def signed(body: dict[str, Any] | bytes, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw bytes and headers (content type and ``X-Hub-Signature-256``) Meta would send."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(app_secret, raw)}
