"""A damaged or half-deleted database stops the start with one clear line (exit 2), never a
traceback, and never a silent fresh start that forgets acknowledged messages."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from botframework.cli import main
from botframework.messenger.sqlite_open import UnusableDatabase
from botframework.messenger.sqlite_store import SQLiteStore
from botframework.messenger.store import NewEvent

from tests.conftest import write_bot_yaml
from .test_process import free_port

DB = "messenger.sqlite3"


def _event(number: int) -> NewEvent:
    key = f"m{number}"
    return NewEvent(key, "tiny", "u1", "text", number, {"message": {"mid": key, "text": "hi"}}, "1")


async def _half_deleted(state: Path) -> bytes:
    """Thirty acknowledged messages still in the write-ahead log, as after ``kill -9``, and the
    database file deleted. Returns the log's bytes."""
    store = SQLiteStore(state / DB)
    assert len(await store.accept([_event(n) for n in range(30)])) == 30
    wal = (state / f"{DB}-wal").read_bytes()  # closing checkpoints and removes the log
    await store.close()
    (state / DB).unlink()
    (state / f"{DB}-wal").write_bytes(wal)
    return wal


def _garbage(state: Path) -> bytes:
    state.mkdir(parents=True, exist_ok=True)
    (state / DB).write_bytes(b"this is not a database, just some text " * 200)
    return (state / DB).read_bytes()


async def test_a_half_deleted_database_is_refused_and_its_log_kept(tmp_path) -> None:
    wal = await _half_deleted(tmp_path)
    with pytest.raises(UnusableDatabase, match=f"{DB} is missing but its write-ahead log") as error:
        SQLiteStore(tmp_path / DB)
    assert "restore" in str(error.value) and "\n" not in str(error.value)
    assert (tmp_path / f"{DB}-wal").read_bytes() == wal and not (tmp_path / DB).exists()


async def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path) -> None:
    before = _garbage(tmp_path)
    with pytest.raises(UnusableDatabase, match="is damaged") as error:
        SQLiteStore(tmp_path / DB)
    assert str(tmp_path / DB) in str(error.value)
    assert (tmp_path / DB).read_bytes() == before


async def test_a_database_with_a_damaged_page_is_refused(tmp_path) -> None:
    store = SQLiteStore(tmp_path / DB)
    await store.accept([_event(n) for n in range(300)])
    await store.close()
    page_size = sqlite3.connect(tmp_path / DB).execute("PRAGMA page_size").fetchone()[0]
    with open(tmp_path / DB, "r+b") as file:
        file.seek(3 * page_size)
        file.write(b"\xff" * page_size)
    with pytest.raises(UnusableDatabase, match="is damaged"):
        SQLiteStore(tmp_path / DB)


def test_serve_says_what_is_wrong_in_one_line(tiny_bot_yaml, tmp_path, capsys) -> None:
    _garbage(tmp_path / "state")
    argv = ["serve", str(tiny_bot_yaml), "--state-dir", str(tmp_path / "state")]
    assert main([*argv, "--port", str(free_port())]) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert error.splitlines()[-1].startswith(f"botframework: error: the database {tmp_path}")


@pytest.mark.parametrize(
    "command", [["messenger-delete-user", "{yaml}", "u1"], ["messenger-retry", "{yaml}"]]
)
def test_store_commands_refuse_a_half_deleted_database(tmp_path, capsys, command) -> None:
    asyncio.run(_half_deleted(tmp_path))
    yaml = write_bot_yaml(tmp_path)
    argv = [word.format(yaml=yaml) for word in command] + ["--state-dir", str(tmp_path)]
    assert main(argv) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"botframework: error: {tmp_path / DB} is missing but its write-ahead log {DB}-wal "
        f"remains ({len((tmp_path / f'{DB}-wal').read_bytes())} bytes; it may hold acknowledged "
        f"messages): restore {DB} from a backup, or delete {DB}-wal and {DB}-shm to start empty"
    ]
