"""What ``POST /api/chat`` accepts: a same-origin JSON object, checked before the model runs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from botframework.messenger import keys

MAX_TEXT = 2000
MAX_SESSION = 64
MAX_PAYLOAD = 1000
#: ``Sec-Fetch-Site`` values of a request the page itself made (or a user typed).
SAME_SITE_FETCHES = {"same-origin", "none"}


class ChatRefused(Exception):
    """A web chat request the server will not answer: the HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ChatRequest:
    text: str
    bot: str
    session: str
    candidates: bool
    payload: str | None = None  # a tapped quick reply's or postback button's payload


async def chat_request(request: web.Request) -> ChatRequest:
    """The checked request, or :class:`ChatRefused` (415, 403, 400 or 404) saying what is wrong."""
    if request.content_type != "application/json":
        raise ChatRefused(415, "send the message as Content-Type: application/json")
    _refuse_other_sites(request)
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):
        raise ChatRefused(400, "the body is not a JSON object (or is nested too deeply)") from None
    if not isinstance(body, dict):
        raise ChatRefused(400, "expected a JSON object with a string 'text'")
    runtimes = request.app[keys.RUNTIMES]
    bot = _optional_string(body, "bot", 200) or next(iter(runtimes))
    if bot not in runtimes:
        raise ChatRefused(404, f"no bot named {bot!r}; serving: {', '.join(runtimes)}")
    candidates = body.get("candidates")
    if candidates is not None and not isinstance(candidates, bool):
        raise ChatRefused(400, "'candidates' must be true or false")
    return ChatRequest(
        _text(body),
        bot,
        _optional_string(body, "session", MAX_SESSION) or uuid.uuid4().hex,
        bool(candidates),
        _optional_string(body, "payload", MAX_PAYLOAD),
    )


def _refuse_other_sites(request: web.Request) -> None:
    """A browser names the page that made a request; only this server's own page may post.

    Behind a reverse proxy, the proxy must pass the ``Host`` header on (or set
    ``X-Forwarded-Host``) so the page's origin can be recognised.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site.lower() not in SAME_SITE_FETCHES:
        raise ChatRefused(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("Origin")
    if origin is None:
        return
    forwarded = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    hosts = {request.host.lower(), forwarded.lower()} - {""}
    if urlsplit(origin).netloc.lower() not in hosts:
        raise ChatRefused(403, f"cross-origin request refused (Origin: {origin})")


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise ChatRefused(400, "expected a JSON object with a string 'text'")
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ChatRefused(400, f"'text' must hold 1 to {MAX_TEXT} characters")
    _refuse_lone_surrogates("text", text)
    return text


def _optional_string(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ChatRefused(400, f"{key!r} must be a string of at most {limit} characters")
    _refuse_lone_surrogates(key, value)
    return value


def _refuse_lone_surrogates(key: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ChatRefused(
            400, f"{key!r} holds invalid Unicode (a lone surrogate, e.g. half an emoji)"
        ) from None
