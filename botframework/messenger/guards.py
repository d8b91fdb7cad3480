"""Request guards every route shares: a deadline for request bodies, no compressed bodies, and
bearer tokens for the routes a server facing the internet should not open to everyone."""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import StreamReader, web
from aiohttp.typedefs import Handler

from botframework.messenger.served import ServerSettings


class BodyTimeout(web.HTTPRequestTimeout):
    """The client did not finish sending its request body in time (an HTTP error, so handlers that
    count and re-raise HTTP errors pass it on to the deadline's own 408)."""


def middlewares(settings: ServerSettings) -> list[web.Middleware]:
    """The guards for ``settings``, outermost first."""
    return [_body_deadline(settings.body_timeout), _plain_bodies, _bearer_tokens(settings)]


def _body_deadline(seconds: float) -> web.Middleware:
    """A body still arriving ``seconds`` after the headers fails its reader: 408, connection closed.

    aiohttp has no read timeout of its own; without one, slow clients hold connections forever.
    """

    @web.middleware
    async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        timer = asyncio.get_running_loop().call_later(seconds, _expire, request.content)
        try:
            return await handler(request)
        except BodyTimeout:
            response = web.json_response(
                {"error": f"request body not received within {seconds:g} s"}, status=408
            )
            response.force_close()
            return response
        finally:
            timer.cancel()

    return body_deadline


def _expire(content: StreamReader) -> None:
    if not content.is_eof():
        content.set_exception(BodyTimeout())


@web.middleware
async def _plain_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse compressed bodies: Meta signs the bytes it sends, and a signature must be checked
    over exactly those bytes (aiohttp would hand the handler the unzipped ones)."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding != "identity":
        return web.json_response(
            {"error": f"Content-Encoding {encoding!r} is not accepted; send the body uncompressed"},
            status=415,
        )
    return await handler(request)


def _bearer_tokens(settings: ServerSettings) -> web.Middleware:
    """``Authorization: Bearer TOKEN`` on the web chat's API and on ``/metrics`` when their
    tokens are set (they come from the environment only)."""
    send = "send the header 'Authorization: Bearer <token>'"
    guarded = [
        (prefix, token, hint)
        for prefix, token, hint in (
            ("/api/", settings.web_chat_token, f"open the page as /#token=<token>, or {send}"),
            ("/metrics", settings.metrics_token, send),
        )
        if token
    ]

    @web.middleware
    async def bearer_tokens(request: web.Request, handler: Handler) -> web.StreamResponse:
        for prefix, token, hint in guarded:
            if request.path.startswith(prefix) and not _holds(request, token):
                return web.json_response(
                    {"error": f"{request.path} needs a token: {hint}"},
                    status=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await handler(request)

    return bearer_tokens


def _holds(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace")
    )
