"""Every typed key of the server's ``web.Application`` in one place."""

from __future__ import annotations

from aiohttp import web

from botframework.messenger.metrics import Metrics
from botframework.messenger.responder import Responder
from botframework.messenger.runtime import BotRuntime
from botframework.messenger.send_api import SendApi
from botframework.messenger.served import ServedBot, ServerSettings
from botframework.messenger.store import Store

SETTINGS = web.AppKey("settings", ServerSettings)
BOTS = web.AppKey("bots", list[ServedBot])
RUNTIMES = web.AppKey("runtimes", dict[str, BotRuntime])
PAGES = web.AppKey("pages", dict[str, str])  # page id -> bot name
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
SEND_API = web.AppKey("send_api", SendApi)
RESPONDER = web.AppKey("responder", Responder)
MISSING = web.AppKey("missing", list[str])  # environment variables Messenger still needs
