"""PostgreSQL for the tests: one throw-away cluster per session, a fresh database per test, and
``store_url``, the one fixture that runs a store test on every engine.

Without PostgreSQL installed its tests are skipped, unless ``BOTFRAMEWORK_REQUIRE_POSTGRES=1``
(CI sets it), which makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from botframework.messenger.testing_postgres import (
    REQUIRE_POSTGRES_ENV,
    ThrowAwayCluster,
    postgres_bindir,
)

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[ThrowAwayCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        reason = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_POSTGRES_ENV}=1 requires it")
        pytest.skip(reason)
    cluster = ThrowAwayCluster(bindir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def postgres_url(postgres_cluster: ThrowAwayCluster) -> AsyncIterator[str]:
    """The URL of an empty database of its own in the session's cluster."""
    import asyncpg

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_cluster.url())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield postgres_cluster.url(name)
    admin = await asyncpg.connect(postgres_cluster.url())
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(params=ENGINES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL of an empty store, once per engine. A test serving it names it before
    ``make_server``, so the database is dropped after the server closed."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
