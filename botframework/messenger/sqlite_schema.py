"""The SQLite store's tables, and bringing a database made by an earlier version up to them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from botframework.messenger.sqlite_open import connect
from botframework.messenger.sqlite_profiles import PROFILES_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    bot TEXT NOT NULL,
    page_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    event TEXT NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    reply TEXT,
    parts_sent INTEGER NOT NULL DEFAULT 0,
    finished_at REAL,
    error TEXT,
    retryable INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbox_state ON inbox (state, bot, user_id, timestamp, id);
CREATE INDEX IF NOT EXISTS inbox_user ON inbox (user_id, bot);
CREATE INDEX IF NOT EXISTS inbox_received ON inbox (received_at);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    user_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_user ON turns (bot, user_id, id);
CREATE INDEX IF NOT EXISTS turns_at ON turns (at);
""" + PROFILES_SCHEMA


def open_store_database(path: Path, synchronous: str, check: bool) -> sqlite3.Connection:
    """A connection to the store at ``path`` with the current schema (see ``connect``)."""
    db = connect(path, synchronous, SCHEMA, check)
    add_missing_columns(db)
    return db


def add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to the current schema."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(inbox)")}
    if "retryable" not in columns:
        db.execute("ALTER TABLE inbox ADD COLUMN retryable INTEGER NOT NULL DEFAULT 0")
