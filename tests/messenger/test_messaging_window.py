"""Meta's 24-hour messaging window, and no HUMAN_AGENT tag on the bot's own messages."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from botframework.messenger.messaging_window import OutsideMessagingWindow, user_message_at
from botframework.messenger.send_api import AiohttpTransport, RetryPolicy, SendApi
from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import NewEvent, StoredEvent
from botframework.messenger.testing import Failure, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, post_events, wait_for

DAY = 24 * 3600


async def _store_pending(state, user: str, text: str, mid: str, received_hours_ago: float) -> None:
    """An event accepted by an earlier process that ended before answering it (an outage)."""
    store = SQLiteStore(state / "messenger.sqlite3")
    event = text_event(user, text, mid, timestamp=int((time.time() - 1) * 1000))
    await store.accept([NewEvent(f"mid:{mid}", "echo", user, "text", event["timestamp"], event)])
    await store.close()
    with sqlite3.connect(state / "messenger.sqlite3") as db:
        db.execute(
            "UPDATE inbox SET received_at = ? WHERE key = ?",
            (time.time() - received_hours_ago * 3600, f"mid:{mid}"),
        )


async def test_an_event_older_than_24_hours_ends_failed_unsent(make_server, graph, tmp_path) -> None:
    fake = graph[0]
    state = tmp_path / "state"
    state.mkdir()
    await _store_pending(state, "u-old", "still there?", "m-old", received_hours_ago=25)
    await _store_pending(state, "u-recent", "hello", "m-recent", received_hours_ago=23)
    client = await make_server(state_dir=state)
    await wait_for(lambda: len(fake.messages) == 1)
    await asyncio.sleep(0.2)
    assert fake.texts() == ["echo: hello"]
    metrics = await (await client.get("/metrics")).text()
    assert 'botframework_reply_failures_total{reason="messaging_window"} 1' in metrics
    await client.close()
    with sqlite3.connect(state / "messenger.sqlite3") as db:
        state_of = dict(db.execute("SELECT key, state FROM inbox").fetchall())
        error = db.execute("SELECT error FROM inbox WHERE key = 'mid:m-old'").fetchone()[0]
    assert state_of == {"mid:m-old": "failed", "mid:m-recent": "done"}
    assert "24 h" in error


async def test_retries_stop_where_the_window_closes(graph) -> None:
    fake, url = graph
    fake.fail_next(Failure(500, code=2, transient=True))
    transport = AiohttpTransport(url, app_secret=APP_SECRET, timeout=2)
    api = SendApi(transport, RetryPolicy(5, base_delay=1.0, max_delay=1.0))
    try:
        with pytest.raises(OutsideMessagingWindow):
            await api.send_text(PAGE_TOKEN, "u1", "late", deadline=time.time() + 0.2)
    finally:
        await transport.close()
    assert fake.attempts == 1 and fake.messages == []


def test_window_measured_from_the_users_message() -> None:
    now = time.time()

    def stored(timestamp_s: float) -> StoredEvent:
        return StoredEvent(1, "k", "b", "u", "text", int(timestamp_s * 1000), {}, "", now)

    assert user_message_at(stored(now - 600)) == pytest.approx(now - 600, abs=0.01)
    # A timestamp that cannot be Meta's (missing, far in the past, in the future): receipt time.
    for odd in (0, now - 5 * DAY, now + 3600):
        assert user_message_at(stored(odd)) == now


async def test_replies_are_responses_never_human_agent(make_server, graph) -> None:
    fake, url = graph
    client = await make_server()
    await post_events(client, text_event("u1", "hi", "m-1"))
    await wait_for(lambda: len(fake.messages) == 1)
    assert [(m.messaging_type, m.tag) for m in fake.messages] == [("RESPONSE", None)]
    transport = AiohttpTransport(url, app_secret=APP_SECRET, timeout=2)
    payload = {
        "recipient": {"id": "u1"},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "automated"},
    }
    try:
        with pytest.raises(ValueError, match="HUMAN_AGENT"):
            await SendApi(transport).call("/me/messages", PAGE_TOKEN, payload)
    finally:
        await transport.close()
    assert fake.attempts == 1
