"""The SQLite store: dedupe, pending after a restart, turns, deletion and retention."""

from __future__ import annotations

import time

from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import NewEvent, StoredTurn


def event(key: str, user: str = "u1", timestamp: int = 0) -> NewEvent:
    return NewEvent(key, "bot", user, "text", timestamp, {"message": {"mid": key}}, "1000")


async def test_accept_dedupes_and_pending_survives_reopening(tmp_path) -> None:
    path = tmp_path / "store.sqlite3"
    store = SQLiteStore(path)
    fresh = await store.accept([event("a"), event("b"), event("a")])
    assert [e.key for e in fresh] == ["a", "b"]
    assert await store.accept([event("b")]) == []
    await store.save_reply(fresh[0].id, "reply a")
    await store.part_sent(fresh[0].id, 1)
    await store.finish(fresh[1].id, [StoredTurn("user", "b"), StoredTurn("bot", "reply b")])
    await store.close()

    reopened = SQLiteStore(path)
    pending = await reopened.pending()
    assert [(e.key, e.reply, e.parts_sent) for e in pending] == [("a", "reply a", 1)]
    assert await reopened.accept([event("a"), event("b")]) == []
    assert await reopened.counts() == {"pending": 1, "done": 1, "failed": 0}
    await reopened.close()


async def test_pending_is_ordered_per_user_by_timestamp(tmp_path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store.accept(
        [event("late", timestamp=5), event("early", timestamp=1), event("x", "u0", 9)]
    )
    assert [e.key for e in await store.pending()] == ["x", "early", "late"]
    await store.close()


async def test_turns_delete_user_and_retention(tmp_path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
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
