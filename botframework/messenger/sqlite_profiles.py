"""The user-profile cache of :class:`~botframework.messenger.sqlite_store.SQLiteStore`.

One row per bot and user: the profile fields fetched from ``GET /{PSID}`` (JSON), so each user's
profile is fetched once. Deleting a user deletes the row too.
"""

from __future__ import annotations

import json
import sqlite3
import time

PROFILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_profiles (
    bot TEXT NOT NULL,
    user_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (bot, user_id)
);
"""


def read_profile(db: sqlite3.Connection, bot: str, user_id: str) -> dict[str, str] | None:
    row = db.execute(
        "SELECT fields FROM user_profiles WHERE bot = ? AND user_id = ?", (bot, user_id)
    ).fetchone()
    return None if row is None else json.loads(row[0])


def write_profile(db: sqlite3.Connection, bot: str, user_id: str, fields: dict[str, str]) -> None:
    db.execute(
        "INSERT OR REPLACE INTO user_profiles (bot, user_id, fields, fetched_at)"
        " VALUES (?, ?, ?, ?)",
        (bot, user_id, json.dumps(fields), time.time()),
    )


def delete_profiles(db: sqlite3.Connection, where: str, args: tuple[str, ...]) -> int:
    """Delete the profiles matching ``where`` (a condition on ``user_id`` and ``bot``)."""
    return db.execute(f"DELETE FROM user_profiles WHERE {where}", args).rowcount
