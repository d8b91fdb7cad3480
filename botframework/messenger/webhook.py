"""``GET /webhook`` (subscription check) and ``POST /webhook`` (events): verify, store, ack.

The POST handler never waits for the model or the Send API: it checks the signature on the raw
bytes, stores every event durably, hands the new ones to the responder and answers 200.
"""

from __future__ import annotations

import hmac
import logging
import time

from aiohttp import web

from botframework.messenger import keys
from botframework.messenger.events import WebhookEvent, parse_body
from botframework.messenger.payload import BadPayload, decode_body, describe
from botframework.messenger.signature import SIGNATURE_HEADER, signature_is_valid
from botframework.messenger.store import NewEvent, UnstorableEvent

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


@routes.get("/webhook")
async def verify_subscription(request: web.Request) -> web.Response:
    """Meta's subscription check: echo ``hub.challenge`` when mode and token match."""
    expected = request.app[keys.SETTINGS].verify_token
    query = request.query
    token = query.get("hub.verify_token", "")
    if (
        expected
        and query.get("hub.mode") == "subscribe"
        and hmac.compare_digest(token.encode(), expected.encode())
        and "hub.challenge" in query
    ):
        return web.Response(text=query["hub.challenge"])
    return web.Response(status=403, text="Forbidden")


@routes.post("/webhook")
async def receive(request: web.Request) -> web.Response:
    started, metrics = time.perf_counter(), request.app[keys.METRICS]
    try:
        response = await _receive(request)
    except web.HTTPException as error:
        metrics.webhook_requests.inc(status=str(error.status))
        raise
    except Exception:
        # Nothing was stored: a 500 makes Meta deliver the body again.
        log.exception("webhook POST failed; answered 500")
        response = web.Response(status=500, text="Internal Server Error")
    metrics.webhook_requests.inc(status=str(response.status))
    if response.status == 200:
        metrics.ack_seconds.observe(time.perf_counter() - started)
    return response


async def _receive(request: web.Request) -> web.Response:
    app = request.app
    settings = app[keys.SETTINGS]
    if app[keys.MISSING]:
        return web.Response(
            status=503, text="Messenger is not configured: set " + ", ".join(app[keys.MISSING])
        )
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    body = await _read_limited(request, limit)
    if body is None:
        return _too_large(limit)
    assert settings.app_secret is not None
    if not signature_is_valid(settings.app_secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("webhook POST from %s with a missing or wrong signature", request.remote)
        return web.Response(status=403, text="Forbidden")
    try:
        payload, repairs = decode_body(body)
    except BadPayload as error:
        return _refused(str(error))
    if not isinstance(payload, dict):
        return _refused("Expected a JSON object")
    if payload.get("object") != "page":
        return web.Response(status=404, text="Not Found")
    if repairs:
        log.warning("webhook POST accepted after replacing %s", describe(repairs))
    try:
        await _accept(app, parse_body(payload))
    except UnstorableEvent as error:
        return _refused(f"Unstorable event: {error}")
    return web.Response(text="EVENT_RECEIVED")


def _refused(reason: str) -> web.Response:
    """A 400 for a body that can never be stored, with a log line saying why."""
    log.warning("webhook POST refused with 400: %s", reason)
    return web.Response(status=400, text=reason)


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (the rest is never read)."""
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> web.Response:
    response = web.Response(status=413, text=f"Payload larger than {limit} bytes")
    response.force_close()
    return response


async def _accept(app: web.Application, events: list[WebhookEvent]) -> None:
    metrics = app[keys.METRICS]
    rows: list[NewEvent] = []
    for event in events:
        bot = _route(app, event.page_id)
        if bot is None:
            log.warning("no bot serves page %s; event ignored", event.page_id)
            metrics.events.inc(kind="unrouted")
            continue
        rows.append(
            NewEvent(
                event.key,
                bot,
                event.user_id or "",
                event.kind,
                event.timestamp,
                event.raw,
                event.page_id,
            )
        )
    if not rows:
        return
    fresh = await app[keys.STORE].accept(rows)
    for row in rows:
        metrics.events.inc(kind=row.kind)
    if len(fresh) < len(rows):
        metrics.duplicates.inc(len(rows) - len(fresh))
    app[keys.RESPONDER].submit(fresh, {event.key: event for event in events})


def _route(app: web.Application, page_id: str) -> str | None:
    """The bot for a Page: by page id, else the one bot without a page id (or the only bot)."""
    pages = app[keys.PAGES]
    if page_id in pages:
        return pages[page_id]
    return pages.get("")
