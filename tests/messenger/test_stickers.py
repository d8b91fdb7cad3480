"""A 👍 (a sticker) goes to ``handle_event`` and gets no reply; other attachments still do."""

from __future__ import annotations

import asyncio

from botframework import hookimpl
from botframework.messenger.testing import text_event

from .conftest import echo_bot, post_events, wait_for

LIKE = 369239263222822


def attachment_event(user: str, mid: str, kind: str, payload: dict[str, object]) -> dict[str, object]:
    event = text_event(user, "", mid)
    event["message"] = {"mid": mid, "attachments": [{"type": kind, "payload": payload}]}
    return event


class SeesEvents:
    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, object]] = []

    @hookimpl
    def handle_event(self, event):
        self.events.append((event.kind, event.user_id, event.data.get("message")))


async def test_a_like_goes_to_handle_event_without_a_reply(make_server, graph) -> None:
    fake = graph[0]
    plugin = SeesEvents()
    client = await make_server([echo_bot(plugins=(plugin,))])
    like = attachment_event(
        "u1", "m-like", "image", {"url": "https://cdn.example/like.png", "sticker_id": LIKE}
    )
    like["message"]["sticker_id"] = LIKE
    photo = attachment_event("u1", "m-photo", "image", {"url": "https://cdn.example/cat.jpg"})
    await post_events(client, like, photo)
    await wait_for(lambda: len(fake.messages) == 1 and len(plugin.events) == 1)
    await asyncio.sleep(0.2)
    assert fake.texts() == ["I can only read text messages for now."]  # the photo only
    [(kind, user, message)] = plugin.events
    assert (kind, user) == ("sticker", "u1")
    assert message["attachments"][0]["payload"]["sticker_id"] == LIKE
    metrics = await (await client.get("/metrics")).text()
    assert 'botframework_webhook_events_total{kind="sticker"} 1' in metrics


def test_sticker_parsed_with_its_id() -> None:
    from botframework.messenger.events import Sticker, parse_messaging

    event = parse_messaging("1000", attachment_event("u1", "m", "image", {"sticker_id": LIKE}))
    assert isinstance(event, Sticker) and event.sticker_id == str(LIKE)
    assert not event.answerable
