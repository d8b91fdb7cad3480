"""Bodies SQLite or the parser cannot take: each gets its own 2xx/4xx, never a 5xx for others."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from typing import Any

import pytest

from botframework.messenger import keys, store_rows
from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import NewEvent, UnstorableEvent
from botframework.messenger.testing import signed, text_event, webhook_body

from .conftest import APP_SECRET, post_events, wait_for

SURROGATE = "\ud800"  # half of an emoji: valid as a JSON escape, not encodable as UTF-8


def stored(key: str, timestamp: int = 0, text: str = "hi") -> NewEvent:
    return NewEvent(key, "bot", key, "text", timestamp, {"message": {"text": text}}, "1000")


@pytest.mark.parametrize("checked_before_the_write", [True, False])
async def test_store_fails_only_the_bad_member_of_a_shared_write(
    tmp_path, monkeypatch, checked_before_the_write: bool
) -> None:
    if not checked_before_the_write:  # the shared transaction itself fails, and is split
        monkeypatch.setattr(store_rows, "check_storable", lambda row: None)
    store = SQLiteStore(tmp_path / "s.sqlite3")
    good = [[stored(f"good{i}")] for i in range(10)]
    bad = [[stored("huge", timestamp=2**63)], [stored("half", text=SURROGATE)]]
    # Accepts started together share one transaction (the group commit).
    outcomes = await asyncio.gather(
        *(store.accept(events) for events in [*good[:5], *bad, *good[5:]]),
        return_exceptions=True,
    )
    assert not [result for result in outcomes[:5] + outcomes[7:] if isinstance(result, Exception)]
    assert [e.key for result in outcomes[:5] + outcomes[7:] for e in result] == [
        f"good{i}" for i in range(10)
    ]
    assert all(isinstance(result, UnstorableEvent) for result in outcomes[5:7])
    assert sorted(e.key for e in await store.pending()) == sorted(f"good{i}" for i in range(10))
    await store.close()


@pytest.mark.parametrize(
    "bad_event",
    [
        text_event("bad", "hi", "m-bad", timestamp=2**63),
        text_event("bad", "cut emoji " + SURROGATE, "m-bad"),
        text_event("bad", "hi", "m-bad" + SURROGATE),
    ],
    ids=["timestamp-2^63", "surrogate-in-text", "surrogate-in-mid"],
)
async def test_good_messages_posted_with_a_bad_one_are_all_answered(
    make_server, graph, bad_event: dict[str, Any]
) -> None:
    client = await make_server()
    goods = [text_event(f"u{i}", f"hello {i}", f"m{i}") for i in range(20)]
    posts = [post_events(client, event) for event in goods]
    posts.insert(10, post_events(client, bad_event))
    statuses = [response.status for response in await asyncio.gather(*posts)]
    assert all(status < 500 for status in statuses), statuses
    assert statuses[:10] + statuses[11:] == [200] * 20
    fake = graph[0]
    await wait_for(lambda: all(fake.texts(f"u{i}") for i in range(20)))
    await asyncio.sleep(0.1)
    assert [fake.texts(f"u{i}") for i in range(20)] == [[f"echo: hello {i}"] for i in range(20)]


def _body_with(placeholder_value: str, event: dict[str, Any], entry_time: Any = 1) -> bytes:
    """A signed-ready body whose ``"@"`` strings become ``placeholder_value`` (e.g. ``1e400``)."""
    body = {"object": "page", "entry": [{"id": "1000", "time": entry_time, **event}]}
    return json.dumps(body).replace('"@"', placeholder_value).encode()


def _text_at(timestamp: str) -> dict[str, Any]:
    return {**text_event("u1", "hi", "m1"), "timestamp": timestamp}


def _nested(depth: int) -> bytes:
    inner = "[" * depth + "]" * depth
    message = json.dumps(webhook_body(text_event("deep", "hi", "m-deep")))
    return message.replace('"text": "hi"', f'"text": "hi", "extra": {inner}').encode()


BODIES_THAT_GAVE_500 = {
    "timestamp-1e400": _body_with("1e400", {"messaging": [_text_at("@")]}),
    "timestamp-Infinity": _body_with("Infinity", {"messaging": [_text_at("@")]}),
    "time-1e400": _body_with("1e400", {"changes": [{"field": "feed"}]}, entry_time="@"),
    "watermark-Infinity": _body_with(
        "Infinity",
        {"messaging": [{"sender": {"id": "u1"}, "timestamp": 1, "read": {"watermark": "@"}}]},
    ),
    "watermark-1e400": _body_with(
        "1e400",
        {"messaging": [{"sender": {"id": "u1"}, "timestamp": 1, "delivery": {"watermark": "@"}}]},
    ),
    "nested-1000": _nested(1000),
    "surrogate-in-read": json.dumps(
        webhook_body({"sender": {"id": "u1"}, "timestamp": 1, "read": {"note": SURROGATE}})
    ).encode(),
    "surrogate-in-sender": json.dumps(webhook_body(text_event(SURROGATE, "hi", "m1"))).encode(),
}


@pytest.mark.parametrize("name", sorted(BODIES_THAT_GAVE_500))
async def test_bodies_that_gave_500_get_a_counted_decision_and_a_log_line(
    make_server, caplog, name: str
) -> None:
    client = await make_server()
    raw, headers = signed(BODIES_THAT_GAVE_500[name], APP_SECRET)
    with caplog.at_level(logging.WARNING, logger="botframework.messenger"):
        response = await client.post("/webhook", data=raw, headers=headers)
    assert response.status in (200, 400), await response.text()
    assert any(r.name.startswith("botframework.messenger.webhook") for r in caplog.records)
    metrics = await (await client.get("/metrics")).text()
    assert f'botframework_webhook_requests_total{{status="{response.status}"}} 1' in metrics


async def test_a_failing_store_is_a_counted_500_with_a_log_line(make_server, caplog) -> None:
    client = await make_server()

    async def disk_full(events: list[NewEvent]) -> list[Any]:
        raise sqlite3.OperationalError("database or disk is full")

    client.server.app[keys.STORE].accept = disk_full  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="botframework.messenger"):
        response = await post_events(client, text_event("u1", "hi", "m1"))
    assert response.status == 500
    assert any("disk is full" in r.getMessage() + str(r.exc_info) for r in caplog.records)
    metrics = await (await client.get("/metrics")).text()
    assert 'botframework_webhook_requests_total{status="500"} 1' in metrics
