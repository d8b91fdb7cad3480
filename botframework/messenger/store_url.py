"""Which store a server uses: ``--store URL`` or ``BOTFRAMEWORK_STORE``, else SQLite in the state
directory.

``sqlite:///path/to/file.sqlite3`` (a relative path after the third slash: ``sqlite:///state.db``;
an absolute one after a fourth: ``sqlite:////var/lib/bot/state.db``) or
``postgresql://user@host:port/database`` (``postgres://`` too, with any query parameter the driver
knows, e.g. ``?host=/run/postgresql`` for a unix socket).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from botframework.messenger.store import Store

STORE_ENV = "BOTFRAMEWORK_STORE"
SQLITE_FILE = "messenger.sqlite3"
POSTGRES_SCHEMES = ("postgresql", "postgres")


class BadStoreUrl(ValueError):
    """A store URL no engine takes (the message says what is wrong, never the password)."""


def check_store_url(url: str) -> str:
    """The engine ``url`` names (``sqlite`` or ``postgresql``); :class:`BadStoreUrl` otherwise."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        if not sqlite_path(url).name:
            raise BadStoreUrl("a sqlite store URL needs a file: sqlite:///path/to/store.sqlite3")
        return "sqlite"
    if scheme in POSTGRES_SCHEMES:
        try:
            urlsplit(url).port  # noqa: B018 - a port that is not a number raises here
        except ValueError as error:
            raise BadStoreUrl(f"the store URL's port is not a number ({error})") from None
        return "postgresql"
    shown = scheme or url.split(":", 1)[0][:40]
    raise BadStoreUrl(
        f"unknown store {shown!r}: use sqlite:///path/to/store.sqlite3 or "
        "postgresql://user@host:port/database"
    )


def store_password(url: str | None) -> str | None:
    """The password in a store URL, if any (kept out of logs like the other secrets)."""
    if not url or "://" not in url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def sqlite_path(url: str) -> Path:
    return Path(url.split("://", 1)[1][1:])


def open_store(url: str | None, state_dir: Path, claim_timeout: float | None = None) -> Store:
    """The store ``url`` names; without one, SQLite in ``state_dir``. Nothing connects yet for
    PostgreSQL (see :meth:`PostgresStore.connect`)."""
    from botframework.messenger.sqlite_store import SQLiteStore

    if not url:
        return SQLiteStore(state_dir / SQLITE_FILE)
    if check_store_url(url) == "sqlite":
        return SQLiteStore(sqlite_path(url))
    from botframework.messenger.postgres_store import CLAIM_TIMEOUT_S, PostgresStore

    return PostgresStore(url, claim_timeout or CLAIM_TIMEOUT_S)
