"""Opening the SQLite store's file: damaged or half-deleted data is refused, never started over."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class UnusableDatabase(Exception):
    """The database cannot be used as it is: damaged, half-deleted or unreadable (the message
    names the file and what to do)."""


def refuse_half_deleted(path: Path) -> None:
    """A write-ahead log without its database: starting over would lose what the log holds."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and not path.exists():
        raise UnusableDatabase(
            f"{path} is missing but its write-ahead log {wal.name} remains "
            f"({wal.stat().st_size} bytes; it may hold acknowledged messages): restore "
            f"{path.name} from a backup, or delete {wal.name} and {path.name}-shm to start empty"
        )


def connect(path: Path, synchronous: str, schema: str, check: bool) -> sqlite3.Connection:
    """A connection in WAL mode with ``schema`` applied; ``check`` runs SQLite's quick check."""
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(schema)
        verdict = db.execute("PRAGMA quick_check(1)").fetchone() if check else ("ok",)
    except sqlite3.Error as error:
        raise UnusableDatabase(_explain(path, error)) from None
    if verdict != ("ok",):
        db.close()
        raise UnusableDatabase(_damaged(path, str(verdict[0])))
    return db


def _explain(path: Path, error: sqlite3.Error) -> str:
    if getattr(error, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return _damaged(path, str(error))
    return f"cannot open the database {path}: {error}"


def _damaged(path: Path, problem: str) -> str:
    return (
        f"the database {path} is damaged ({problem}); move it aside (with any -wal and -shm "
        "files) to start empty, or restore it from a backup"
    )
