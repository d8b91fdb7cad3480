"""The store contract on every engine (``store_url``): dedupe, pending after a restart, turns,
deletion and retention; and SQLite's upgrade of an old file."""

from __future__ import annotations

import sqlite3
import time

from botframework.messenger.sqlite_schema import SCHEMA
from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import NewEvent, StoredTurn
from botframework.messenger.store_url import open_store


def event(key: str, user: str = "u1", timestamp: int = 0) -> NewEvent:
    return NewEvent(key, "bot", user, "text", timestamp, {"message": {"mid": key}}, "1000")


async def test_accept_dedupes_and_pending_survives_reopening(store_url, tmp_path) -> None:
    store = open_store(store_url, tmp_path)
    fresh = await store.accept([event("a"), event("b"), event("a")])
    assert [e.key for e in fresh] == ["a", "b"]
    assert await store.accept([event("b")]) == []
    await store.save_reply(fresh[0].id, "reply a")
    await store.part_sent(fresh[0].id, 1)
    await store.finish(fresh[1].id, [StoredTurn("user", "b"), StoredTurn("bot", "reply b")])
    await store.close()

    reopened = open_store(store_url, tmp_path)
    pending = await reopened.pending()
    assert [(e.key, e.reply, e.parts_sent) for e in pending] == [("a", "reply a", 1)]
    assert await reopened.accept([event("a"), event("b")]) == []
    assert await reopened.counts() == {"pending": 1, "done": 1, "failed": 0}
    await reopened.close()


async def test_pending_is_ordered_per_user_by_timestamp(store_url, tmp_path) -> None:
    store = open_store(store_url, tmp_path)
    await store.accept(
        [event("late", timestamp=5), event("early", timestamp=1), event("x", "u0", 9)]
    )
    assert [e.key for e in await store.pending()] == ["x", "early", "late"]
    await store.close()


async def test_turns_delete_user_and_retention(store_url, tmp_path) -> None:
    store = open_store(store_url, tmp_path)
    [first] = await store.accept([event("a")])
    await store.finish(first.id, [StoredTurn("user", "hi"), StoredTurn("bot", "hello")])
    await store.add_turns("bot", "u1", [StoredTurn("user", "again")])
    await store.add_turns("bot", "u2", [StoredTurn("user", "other user")])
    assert [t.text for t in await store.recent_turns("bot", "u1", 2)] == ["hello", "again"]
    assert await store.recent_turns("bot", "u1", 0) == []

    assert await store.delete_user("u1") == 4
    assert await store.recent_turns("bot", "u1", 10) == []
    assert await store.accept([event("a")]) != []  # its data is gone, dedupe key included

    assert await store.purge(time.time() - 3600) == 0
    assert await store.purge(time.time() + 1) == 1  # u2's turn; the pending event stays
    assert (await store.counts())["pending"] == 1
    await store.close()


async def test_profiles_failures_and_retry(store_url, tmp_path) -> None:
    store = open_store(store_url, tmp_path)
    assert await store.user_profile("bot", "u1") is None
    await store.save_user_profile("bot", "u1", {"first_name": "Ada"})
    await store.save_user_profile("bot", "u1", {"first_name": "Ada", "locale": "en_GB"})
    assert await store.user_profile("bot", "u1") == {"first_name": "Ada", "locale": "en_GB"}
    transient, permanent = await store.accept([event("t"), event("p", "u2")])
    await store.finish(transient.id, [], error="rate limited", retryable=True)
    await store.finish(permanent.id, [], error="bad recipient")
    assert await store.counts() == {"pending": 0, "done": 0, "failed": 2}
    assert await store.retry_failed(time.time() + 1) == 0
    assert await store.retry_failed(0.0, bot="other") == 0
    assert await store.retry_failed(0.0, "bot", retryable_only=True) == 1
    assert [e.key for e in await store.user_pending("bot", "u1")] == ["t"]
    assert await store.delete_user("u1", bot="bot") == 2  # the event and the profile
    await store.close()


async def test_a_database_from_before_retryable_is_upgraded_and_keeps_its_events(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.replace(",\n    retryable INTEGER NOT NULL DEFAULT 0", ""))
    old.execute(
        "INSERT INTO inbox (key, bot, page_id, user_id, kind, timestamp, event, received_at,"
        " state, error) VALUES ('old', 'bot', '1000', 'u1', 'text', 0, '{}', ?, 'failed', 'x')",
        (time.time(),),
    )
    old.commit()
    assert "retryable" not in {row[1] for row in old.execute("PRAGMA table_info(inbox)")}
    old.close()

    store = SQLiteStore(path)
    fresh = await store.accept([event("transient"), event("permanent")])
    await store.finish(fresh[0].id, [], error="rate limited", retryable=True)
    await store.finish(fresh[1].id, [], error="bad recipient")
    assert await store.retry_failed(0.0, retryable_only=True) == 1
    assert [e.key for e in await store.pending()] == ["transient"]
    assert await store.retry_failed(0.0) == 2  # the old event failed before it had the column
    assert [e.key for e in await store.pending()] == ["old", "transient", "permanent"]
    await store.close()


async def test_user_state_is_kept_per_bot_and_user_and_deleted_with_the_user(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # a database from before the user_state table
    old.executescript(SCHEMA[: SCHEMA.index("CREATE TABLE IF NOT EXISTS user_state")])
    old.close()
    store = SQLiteStore(path)
    assert await store.user_state("bot", "u1") == {}
    await store.save_user_state("bot", "u1", {"handover": {"owner": "263902037430900"}})
    await store.save_user_state("other", "u1", {"handover": {"paused_until": 1.5}})
    await store.close()
    store = SQLiteStore(path)
    assert await store.user_state("bot", "u1") == {"handover": {"owner": "263902037430900"}}
    assert await store.delete_user("u1", "bot") == 1
    assert await store.user_state("bot", "u1") == {}
    assert await store.user_state("other", "u1") == {"handover": {"paused_until": 1.5}}
    await store.close()
