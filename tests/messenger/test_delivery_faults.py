"""Faults on the delivery side: a store that fails like a full disk, and a rate-limited Graph API.

After each fault clears, every message is answered exactly once, in order per user.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from botframework.messenger import ServerSettings, create_app
from botframework.messenger import store_health
from botframework.messenger.backoff import RetryPolicy
from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import StoredTurn
from botframework.messenger.testing import Failure, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, echo_bot, post_events, wait_for

USERS = [f"u{index}" for index in range(10)]


class DiskFullStore(SQLiteStore):
    """SQLite whose bookkeeping after a reply fails while ``full`` is set, as on a full disk."""

    full = False
    refused = 0

    def _refuse_while_full(self) -> None:
        if self.full:
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")

    async def save_reply(self, event_id: int, reply: str | None) -> None:
        self._refuse_while_full()
        await super().save_reply(event_id, reply)

    async def part_sent(self, event_id: int, parts_sent: int) -> None:
        self._refuse_while_full()
        await super().part_sent(event_id, parts_sent)

    async def finish(self, event_id: int, turns: list[StoredTurn], *args: Any, **kw: Any) -> None:
        self._refuse_while_full()
        await super().finish(event_id, turns, *args, **kw)


@pytest.fixture
def start(aiohttp_client: Any, graph: Any, tmp_path: Path) -> Any:
    """``await start(bot, store=None)``: a server on loopback over ``tmp_path/state``."""

    async def run(bot: Any, store: SQLiteStore | None = None) -> Any:
        environ = {
            "MESSENGER_APP_SECRET": APP_SECRET,
            "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
            "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
            "MESSENGER_GRAPH_API_URL": graph[1],
        }
        settings = ServerSettings.from_env(tmp_path / "state", environ, shutdown_grace=0.5)
        return await aiohttp_client(create_app([bot], settings, store=store))

    return run


async def post_two_each(client: Any, users: list[str]) -> None:
    """Each user sends ``first`` then ``second``, all in one webhook POST."""
    events = [
        text_event(user, f"{which} {user}", f"m-{which}-{user}", timestamp=1000 + order)
        for order, which in enumerate(("first", "second"))
        for user in users
    ]
    assert (await post_events(client, *events)).status == 200


def assert_answered_once_in_order(fake: Any, users: list[str]) -> None:
    for user in users:
        assert fake.texts(user) == [f"echo: first {user}", f"echo: second {user}"]
    assert len(fake.messages) == 2 * len(users)


async def test_a_full_disk_holds_replies_until_it_clears_then_each_is_recorded_once(
    start, graph, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(store_health, "STORE_RETRY", RetryPolicy(base_delay=0.02, max_delay=0.1))
    fake, users = graph[0], USERS[:3]
    store = DiskFullStore(tmp_path / "state" / "messenger.sqlite3")
    store.full = True
    client = await start(echo_bot(), store)
    await post_two_each(client, users)
    await wait_for(lambda: len(fake.messages) == len(users) and store.refused >= 2 * len(users))
    health = await client.get("/healthz")
    assert health.status == 503
    report = await health.json()
    assert report["status"] == "degraded" and "disk is full" in report["store"]["problem"]
    metrics = await (await client.get("/metrics")).text()
    assert "botframework_store_failing 1" in metrics
    await asyncio.sleep(0.3)  # retries go on; nothing is sent twice, no second message overtakes
    assert sorted(fake.texts()) == sorted(f"echo: first {user}" for user in users)
    store.full = False
    await wait_for(lambda: len(fake.messages) == 2 * len(users))
    await wait_for_counts(client, done=2 * len(users))
    assert (await client.get("/healthz")).status == 200
    assert_answered_once_in_order(fake, users)
    await client.close()
    restarted = await start(echo_bot())
    await asyncio.sleep(0.3)
    assert_answered_once_in_order(fake, users)  # nothing was left pending to answer again
    await restarted.close()


async def wait_for_counts(client: Any, **expected: int) -> None:
    for _ in range(200):
        metrics = await (await client.get("/metrics")).text()
        if all(f'botframework_inbox_events{{state="{s}"}} {n}' in metrics for s, n in expected.items()):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"inbox never reached {expected}:\n{metrics}")


def rate_limited_bot(budget_minutes: float = 0.5) -> Any:
    return echo_bot(
        send_max_attempts=None,
        retry_base_delay_s=0.1,
        retry_max_delay_s=0.4,
        retry_budget_minutes=budget_minutes,
        sender_actions=False,
    )


async def test_a_rate_limit_pauses_every_user_together_and_loses_nothing(start, graph) -> None:
    fake, limit_s = graph[0], 2.0
    fake.rate_limit(seconds=limit_s)
    client = await start(rate_limited_bot())
    await post_two_each(client, USERS)
    await wait_for(lambda: len(fake.messages) == 2 * len(USERS), timeout=20)
    assert_answered_once_in_order(fake, USERS)
    refused = fake.rate_limited_posts()
    # The first message of each user may be in flight when the limit starts; after that one probe
    # at a time, spaced by the shared backoff (at least 0.05, 0.1, then 0.2 s apart).
    assert len(refused) <= len(USERS) + 15, f"{len(refused)} POSTs during the rate limit"
    await wait_for_counts(client, done=2 * len(USERS), failed=0)


async def test_a_send_failed_for_a_transient_cause_is_retried_at_the_next_start(
    start, graph
) -> None:
    fake = graph[0]
    fake.rate_limit(seconds=600)
    client = await start(rate_limited_bot(budget_minutes=0.01))  # gives up after 0.6 s
    await post_events(client, text_event("u1", "hello", "m-1"))
    await wait_for_counts(client, failed=1, pending=0)
    await client.close()
    fake.rate_limit(seconds=0)
    restarted = await start(rate_limited_bot())
    await wait_for(lambda: fake.texts("u1") == ["echo: hello"])
    await wait_for_counts(restarted, done=1, failed=0)
    await restarted.close()


async def test_messenger_retry_command_makes_failed_events_pending_again(
    start, graph, tmp_path
) -> None:
    from botframework.cli.serve import main

    fake = graph[0]
    fake.fail_next(Failure(400, 190))  # an expired token: permanent until someone replaces it
    client = await start(echo_bot())
    await post_events(client, text_event("u1", "hello", "m-1"))
    await wait_for_counts(client, failed=1)
    await client.close()
    restarted = await start(echo_bot())
    await asyncio.sleep(0.2)
    assert fake.texts("u1") == []  # a permanent failure is not retried by itself
    await restarted.close()
    bot_yaml = tmp_path / "echo.yaml"
    bot_yaml.write_text("name: echo\n", encoding="utf-8")
    state = ["--state-dir", str(tmp_path / "state")]
    assert await asyncio.to_thread(main, ["messenger-retry", str(bot_yaml), "--hours", "30"]) == 2
    assert await asyncio.to_thread(main, ["messenger-retry", str(bot_yaml), *state]) == 0
    again = await start(echo_bot())
    await wait_for(lambda: fake.texts("u1") == ["echo: hello"])
    await again.close()


async def test_the_store_works_again_after_a_failed_commit(tmp_path) -> None:
    """A COMMIT that fails (a full disk; here a deferred constraint) must not leave the
    transaction open, or every later write fails even after the disk has room again."""
    store = SQLiteStore(tmp_path / "s.sqlite3")
    await store._bookkeeping.read(lambda db: db.execute("PRAGMA foreign_keys = ON"))

    def refused_at_commit(db: sqlite3.Connection) -> None:
        db.execute("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE child (p REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
        db.execute("INSERT INTO child VALUES (1)")

    with pytest.raises(sqlite3.IntegrityError):
        await store._bookkeeping.write(refused_at_commit)
    await store.add_turns("b", "u", [StoredTurn("user", "still works")])
    assert await store.recent_turns("b", "u", 5) == [StoredTurn("user", "still works")]
    await store.close()
