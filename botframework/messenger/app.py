"""The server's application factory: routes, and the workers its ``cleanup_ctx`` owns."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import pluggy
from aiohttp import web

from botframework.messenger import guards, keys, webchat, webhook
from botframework.messenger.logs import register_secret
from botframework.messenger.metrics import CONTENT_TYPE, Metrics, multiprocess_mode
from botframework.messenger.responder import Responder
from botframework.messenger.runtime import BotRuntime
from botframework.messenger.send_api import (
    RetryPolicy,
    SendApi,
    Transport,
)
from botframework.messenger.served import ServedBot, ServerSettings
from botframework.messenger.store import Store
from botframework.messenger.store_url import open_store, store_password
from botframework.plugins import collect_transports

log = logging.getLogger(__name__)

GAUGE_SHARING_S = 1.0


def create_app(
    bots: list[ServedBot],
    settings: ServerSettings,
    *,
    store: Store | None = None,
    transport: Transport | None = None,
) -> web.Application:
    """The whole server for ``bots``: webhook, web chat, health, metrics and privacy page.

    ``store`` defaults to ``settings.store_url``, else SQLite in ``settings.state_dir``;
    ``transport`` to the one the first bot's ``channel.transport`` names (one transport serves
    every bot; tokens differ per bot).
    """
    if not bots:
        raise ValueError("create_app needs at least one bot")
    names = [bot.name for bot in bots]
    if len(set(names)) != len(names):
        raise ValueError(f"two served bots share a name: {names}")
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=guards.middlewares(settings)
    )
    app[keys.SETTINGS] = settings
    app[keys.BOTS] = bots
    app[keys.PAGES] = _pages(bots)
    app[keys.METRICS] = Metrics()
    app[keys.MISSING] = settings.missing(bots)
    for secret in (
        settings.app_secret,
        settings.verify_token,
        settings.web_chat_token,
        settings.metrics_token,
        store_password(settings.store_url),
        *map(settings.page_token, bots),
    ):
        register_secret(secret)
    app.cleanup_ctx.append(_workers(store, transport))
    app.router.add_routes(webhook.routes)
    if settings.web_chat:
        app.router.add_routes(webchat.routes)
    app.router.add_get("/healthz", healthz)
    if settings.metrics:
        app.router.add_get("/metrics", metrics)
    app.router.add_get("/privacy", privacy)
    return app


def _pages(bots: list[ServedBot]) -> dict[str, str]:
    pages = {bot.channel.page_id: bot.name for bot in bots if bot.channel.page_id}
    if len(pages) != sum(1 for bot in bots if bot.channel.page_id):
        raise ValueError("two served bots share a channel.page_id")
    unrouted = [bot.name for bot in bots if not bot.channel.page_id]
    if len(bots) == 1:
        pages[""] = bots[0].name
    elif len(unrouted) == 1:
        pages[""] = unrouted[0]
    elif unrouted:
        raise ValueError(
            f"serving several bots needs channel.page_id on all but one; missing on {unrouted}"
        )
    return pages


def load_transport(
    name: str,
    hook: pluggy.HookRelay,
    graph_api_url: str,
    app_secret: str | None,
    timeout: float,
) -> Transport:
    """The transport ``name``: one the plugins behind ``hook`` register (``register_transports``)
    or ``module:Class``; it is built as ``cls(graph_api_url, app_secret=..., timeout=...)``."""
    transports = collect_transports(hook)
    module_name, _, attribute = name.partition(":")
    if name in transports.factories or not attribute:
        cls = transports.get(name, "channel.transport")
    else:
        cls = getattr(importlib.import_module(module_name), attribute)
    return cls(graph_api_url, app_secret=app_secret, timeout=timeout)


def _workers(
    store: Store | None, transport: Transport | None
) -> Callable[[web.Application], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def workers(app: web.Application) -> AsyncIterator[None]:
        settings, bots, metrics = app[keys.SETTINGS], app[keys.BOTS], app[keys.METRICS]
        channel = bots[0].channel
        app[keys.STORE] = store or open_store(
            settings.store_url, settings.state_dir, settings.claim_timeout
        )
        secret = settings.app_secret if channel.appsecret_proof else None
        sender = transport or load_transport(
            channel.transport, bots[0].hook, settings.graph_api_url, secret, channel.send_timeout_s
        )
        policy = RetryPolicy(
            channel.send_max_attempts,
            channel.retry_base_delay_s,
            channel.retry_max_delay_s,
            channel.retry_budget_minutes * 60,
        )
        app[keys.SEND_API] = SendApi(sender, policy, metrics)
        runtimes = {bot.name: BotRuntime(bot, metrics, settings.page_token(bot)) for bot in bots}
        app[keys.RUNTIMES] = runtimes
        responder = Responder(runtimes, app[keys.STORE], app[keys.SEND_API], metrics)
        app[keys.RESPONDER] = responder
        _add_gauges(app)
        if app[keys.MISSING]:
            log.warning(
                "Messenger disabled (webhook POSTs refused): set %s. The web chat works.",
                ", ".join(app[keys.MISSING]),
            )
        else:
            await responder.recover()
        retention = asyncio.create_task(_retention(app), name="retention")
        sharing = asyncio.create_task(_share_gauges(metrics), name="share-gauges")
        try:
            yield
        finally:
            retention.cancel()
            sharing.cancel()
            await responder.close(settings.shutdown_grace)
            for runtime in runtimes.values():
                await runtime.close()
            await sender.close()
            await app[keys.STORE].close()

    return workers


async def _share_gauges(metrics: Metrics) -> None:
    """Workers write their gauges every second, for scrapes another worker answers."""
    if not multiprocess_mode():
        return
    while True:
        metrics.refresh_gauges()
        await asyncio.sleep(GAUGE_SHARING_S)


async def _retention(app: web.Application) -> None:
    settings = app[keys.SETTINGS]
    while True:
        for bot in app[keys.BOTS]:
            days = bot.channel.retention_days
            if days:
                deleted = await app[keys.STORE].purge(time.time() - days * 86400, bot.name)
                if deleted:
                    log.info(
                        "retention: deleted %d rows of %s older than %d days",
                        deleted,
                        bot.name,
                        days,
                    )
        await asyncio.sleep(settings.retention_interval)


def _add_gauges(app: web.Application) -> None:
    metrics = app[keys.METRICS]
    runtimes = app[keys.RUNTIMES]
    responder = app[keys.RESPONDER]
    metrics.add_gauge(
        "botframework_batch_queue",
        "Dialogues waiting for the decoder, per bot.",
        lambda: {(("bot", name),): float(r.batcher.waiting) for name, r in runtimes.items()},
        labels=("bot",),
    )
    metrics.add_gauge(
        "botframework_responder_queue",
        "Events queued in this process and not yet finished.",
        lambda: {(): float(responder.in_flight)},
    )
    metrics.add_gauge(
        "botframework_store_failing",
        "1 while a store call fails and is being retried (e.g. a full disk), else 0.",
        lambda: {(): float(responder.store_health.failing)},
        mode="livemax",
    )
    send_api = app[keys.SEND_API]
    metrics.add_gauge(
        "botframework_send_backoff_seconds",
        "Seconds until sends resume after a rate limit or transient Graph API error (0: none).",
        lambda: {(): send_api.backoff.seconds_left()},
        mode="livemax",
    )


async def healthz(request: web.Request) -> web.Response:
    """200 ``ok``, or 503 ``degraded`` while store calls fail (replies wait until they succeed)."""
    missing = request.app[keys.MISSING]
    store = request.app[keys.RESPONDER].store_health
    return web.json_response(
        {
            "status": "degraded" if store.failing else "ok",
            "bots": [bot.name for bot in request.app[keys.BOTS]],
            "messenger": not missing,
            "missing": missing,
            "store": {
                "ok": not store.failing,
                "problem": store.problem,
                "since": store.failing_since,
            },
            "send_backoff_s": round(request.app[keys.SEND_API].backoff.seconds_left(), 3),
        },
        status=503 if store.failing else 200,
    )


async def metrics(request: web.Request) -> web.Response:
    try:
        counts = await request.app[keys.STORE].counts()
    except Exception as error:  # noqa: BLE001 - the other metrics still help while it fails
        log.warning("inbox counts unavailable for /metrics: %s", error)
        counts = {}
    extra = [
        "# HELP botframework_inbox_events Stored events by state.",
        "# TYPE botframework_inbox_events gauge",
    ]
    extra += [
        f'botframework_inbox_events{{state="{state}"}} {count}'
        for state, count in sorted(counts.items())
    ]
    body = request.app[keys.METRICS].render(extra)
    return web.Response(body=body.encode(), headers={"Content-Type": CONTENT_TYPE})


async def privacy(request: web.Request) -> web.Response:
    texts = [(bot.name, bot.privacy_policy) for bot in request.app[keys.BOTS] if bot.privacy_policy]
    if not texts:
        return web.Response(
            status=404, text="No privacy policy configured (channel.privacy_policy)."
        )
    if len(texts) == 1:
        return web.Response(text=texts[0][1])
    return web.Response(text="\n\n".join(f"# {name}\n\n{text}" for name, text in texts))
