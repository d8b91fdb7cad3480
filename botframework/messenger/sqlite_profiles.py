"""Per-user rows of :class:`~botframework.messenger.sqlite_store.SQLiteStore`: the user-profile
cache and the plugins' per-user state.

One row per bot and user in each table, holding JSON: the profile fields fetched from
``GET /{PSID}`` (so each user's profile is fetched once), and ``Conversation.state`` (e.g. whether
the conversation was handed over to a person). Deleting a user deletes both rows.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

PROFILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_profiles (
    bot TEXT NOT NULL,
    user_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (bot, user_id)
);
CREATE TABLE IF NOT EXISTS user_state (
    bot TEXT NOT NULL,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    saved_at REAL NOT NULL,
    PRIMARY KEY (bot, user_id)
);
"""

#: Each per-user table and its JSON column (fixed names, never user input).
_TABLES = {"user_profiles": "fields", "user_state": "state"}


def _read(db: sqlite3.Connection, table: str, bot: str, user_id: str) -> Any:
    row = db.execute(
        f"SELECT {_TABLES[table]} FROM {table} WHERE bot = ? AND user_id = ?", (bot, user_id)
    ).fetchone()
    return None if row is None else json.loads(row[0])


def _write(db: sqlite3.Connection, table: str, bot: str, user_id: str, value: Any) -> None:
    db.execute(
        f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)",
        (bot, user_id, json.dumps(value, ensure_ascii=False), time.time()),
    )


def read_profile(db: sqlite3.Connection, bot: str, user_id: str) -> dict[str, str] | None:
    return _read(db, "user_profiles", bot, user_id)


def write_profile(db: sqlite3.Connection, bot: str, user_id: str, fields: dict[str, str]) -> None:
    _write(db, "user_profiles", bot, user_id, fields)


def read_state(db: sqlite3.Connection, bot: str, user_id: str) -> dict[str, Any]:
    return _read(db, "user_state", bot, user_id) or {}


def write_state(db: sqlite3.Connection, bot: str, user_id: str, state: dict[str, Any]) -> None:
    _write(db, "user_state", bot, user_id, state)


def delete_profiles(db: sqlite3.Connection, where: str, args: tuple[str, ...]) -> int:
    """Delete the profiles and states matching ``where`` (on ``user_id`` and ``bot``)."""
    return sum(db.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount for table in _TABLES)
