"""The local web chat: ``GET /`` serves a page that talks to the pipeline via ``POST /api/chat``."""

from __future__ import annotations

import json
import time
from importlib import resources

from aiohttp import web

from botframework.messenger import keys
from botframework.messenger.chat_request import ChatRefused, chat_request
from botframework.messenger.answering import answer
from botframework.messenger.runtime import personal_greeting
from botframework.messenger.store import StoredTurn
from botframework.reply_parts import parts_to_dict

routes = web.RouteTableDef()


@routes.get("/")
async def page(request: web.Request) -> web.Response:
    return _static("chat.html", "text/html")


@routes.get("/chat.js")
async def script(request: web.Request) -> web.Response:
    return _static("chat.js", "application/javascript")


def _static(name: str, content_type: str) -> web.Response:
    text = resources.files("botframework.messenger").joinpath("static", name).read_text("utf-8")
    return web.Response(text=text, content_type=content_type)


@routes.get("/api/bots")
async def bots(request: web.Request) -> web.Response:
    return web.json_response(
        [{"name": bot.name, "greeting": personal_greeting(bot.channel.greeting, {})} for bot in request.app[keys.BOTS]]
    )


@routes.post("/api/chat")
async def chat(request: web.Request) -> web.Response:
    """``{"text", "session"?, "bot"?, "candidates"?: bool, "payload"?}`` -> the reply with its
    ``quick_replies``, ``buttons``, ``media`` and ``elements`` (and the n-best list); ``payload``
    is what a tapped quick reply or postback button sends, ``text`` its title.

    Only same-origin ``application/json`` POSTs: a form or ``text/plain`` POST from another site
    is refused before anything is read.
    """
    try:
        asked = await chat_request(request)
    except ChatRefused as refused:
        return _error(refused.status, str(refused))
    runtime = request.app[keys.RUNTIMES][asked.bot]
    user_id = f"web:{asked.session}"
    store = request.app[keys.STORE]
    started = time.perf_counter()
    message = runtime.message(asked.text, user_id, "web", payload=asked.payload)
    reply = await answer(runtime, store, message)
    await store.add_turns(
        asked.bot,
        user_id,
        [StoredTurn("user", asked.text)] + ([StoredTurn("bot", reply.text)] if reply.text else []),
    )
    request.app[keys.METRICS].web_chat.inc()
    result: dict[str, object] = {
        "bot": asked.bot,
        "session": asked.session,
        "reply": reply.text,
        "answered_by": reply.answered_by,
        "vetoed_by": reply.vetoed_by,
        "seconds": round(time.perf_counter() - started, 4),
        **parts_to_dict(reply.quick_replies, reply.buttons, reply.media, reply.elements),
    }
    if asked.candidates:
        limit = runtime.bot.channel.web_chat_candidates
        result["candidates"] = [
            {"text": c.text, "score": c.score, "scores": dict(c.scores)}
            for c in reply.candidates[:limit]
        ]
    return web.json_response(result, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
