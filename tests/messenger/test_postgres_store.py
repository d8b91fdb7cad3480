"""What only a store shared by several processes has: migrations run once when processes start
together, dedupe and user leases across store objects, and a dead process's leases passing on."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest

from botframework.messenger.postgres_schema import MIGRATIONS
from botframework.messenger.postgres_store import PostgresStore
from botframework.messenger.sqlite_open import UnusableDatabase
from botframework.messenger.store import NewEvent, UnstorableEvent
from botframework.messenger.store_url import (
    BadStoreUrl,
    check_store_url,
    open_store,
    store_password,
)


def event(key: str, user: str = "u1", timestamp: int = 0) -> NewEvent:
    return NewEvent(key, "bot", user, "text", timestamp, {"message": {"mid": key}}, "1000")


async def test_processes_starting_together_migrate_once(postgres_url) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(6)]
    await asyncio.gather(*(store.connect() for store in stores))
    db = await asyncpg.connect(postgres_url)
    versions = [row[0] for row in await db.fetch("SELECT version FROM botframework_schema")]
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    await db.execute("INSERT INTO botframework_schema (version) VALUES (99)")
    await db.close()
    for store in stores:
        await store.close()
    with pytest.raises(UnusableDatabase, match="version 99, newer than this botframework"):
        await PostgresStore(postgres_url).connect()


async def test_a_key_is_accepted_once_across_stores(postgres_url) -> None:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    keys = [f"k{i}" for i in range(30)]
    outcomes = await asyncio.gather(
        *(store.accept([event(key)]) for key in keys for store in (first, second))
    )
    assert sorted(e.key for fresh in outcomes for e in fresh) == sorted(keys)
    assert (await second.counts())["pending"] == 30
    await first.close()
    await second.close()


async def test_one_store_at_a_time_works_on_a_user(postgres_url) -> None:
    first, second = PostgresStore(postgres_url), PostgresStore(postgres_url)
    [accepted] = await first.accept([event("a")])
    assert await first.claim_user("bot", "u1")
    assert await first.claim_user("bot", "u1")  # renewing its own lease
    assert not await second.claim_user("bot", "u1")
    assert await second.claim_user("bot", "u2")
    assert await second.unclaimed_users(["bot"]) == []
    assert not await first.release_user("bot", "u1")  # "a" is still pending
    await first.finish(accepted.id, [])
    assert await first.release_user("bot", "u1")
    assert await second.release_user("bot", "u1")  # not its lease: nothing to give up
    assert await second.claim_user("bot", "u1")
    await second.close()  # gives its leases up
    assert await first.claim_user("bot", "u1")
    await first.close()


DIES_HOLDING_A_LEASE = """
import asyncio, os, sys
from botframework.messenger.postgres_store import PostgresStore

async def main():
    store = PostgresStore(sys.argv[1], claim_timeout=0.5)
    assert await store.claim_user("bot", "u1")
    os._exit(0)

asyncio.run(main())
"""


async def test_a_dead_process_loses_its_users_to_the_others(postgres_url) -> None:
    store = PostgresStore(postgres_url)
    await store.accept([event("a"), event("b", "u2")])
    subprocess.run([sys.executable, "-c", DIES_HOLDING_A_LEASE, postgres_url], check=True)
    assert not await store.claim_user("bot", "u1")
    assert await store.unclaimed_users(["bot"]) == [("bot", "u2")]  # accepted, never claimed
    await asyncio.sleep(0.6)
    assert await store.unclaimed_users(["other-bot"]) == []
    assert await store.unclaimed_users(["bot"]) == [("bot", "u1")]
    assert [e.key for e in await store.user_pending("bot", "u1")] == ["a"]
    await store.close()


async def test_a_value_postgresql_cannot_keep_fails_only_its_accept(postgres_url) -> None:
    store = PostgresStore(postgres_url)
    with pytest.raises(UnstorableEvent):
        await store.accept([event("fine"), event("nul\x00key")])
    assert [e.key for e in await store.accept([event("fine")])] == ["fine"]
    await store.close()


def test_store_urls_are_checked_before_anything_opens(tmp_path) -> None:
    assert check_store_url("sqlite:///state.db") == "sqlite"
    assert check_store_url("postgres://bot@db:5432/bot") == "postgresql"
    for bad, problem in [
        ("mysql://x@y/z", "unknown store 'mysql'"),
        ("just-a-path.db", "unknown store 'just-a-path.db'"),
        ("sqlite://", "needs a file"),
        ("postgresql://bot@db:port/bot", "port is not a number"),
    ]:
        with pytest.raises(BadStoreUrl, match=problem):
            check_store_url(bad)
    assert open_store(None, tmp_path).path == tmp_path / "messenger.sqlite3"
    assert store_password("postgresql://bot:s3cret@db/bot") == "s3cret"  # masked in logs
    assert store_password("sqlite:///state.db") is None and store_password(None) is None


async def test_an_unreachable_database_is_one_line_without_the_password(tmp_path) -> None:
    store = PostgresStore(f"postgresql://bot:s3cret@/bot?host={tmp_path}")
    with pytest.raises(UnusableDatabase, match="cannot use the store") as error:
        await store.counts()
    assert "s3cret" not in str(error.value) and "bot:***@" in str(error.value)


async def test_user_state_is_kept_per_bot_and_user_and_deleted_with_the_user(postgres_url) -> None:
    store = PostgresStore(postgres_url)
    assert await store.user_state("bot", "u1") == {}
    await store.save_user_state("bot", "u1", {"handover": {"owner": "263902037430900"}})
    await store.save_user_state("other", "u1", {"handover": {"paused_until": 1.5}})
    await store.save_user_state("bot", "u1", {"handover": {"owner": "ünïcode"}})
    assert await store.user_state("bot", "u1") == {"handover": {"owner": "ünïcode"}}
    assert await store.delete_user("u1", "bot") == 1
    assert await store.user_state("bot", "u1") == {}
    assert await store.user_state("other", "u1") == {"handover": {"paused_until": 1.5}}
    await store.close()
