"""Everyday mistakes on the command line: one line naming the problem, exit code 2, no traceback."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from botframework.cli import main
from tests.conftest import write_bot_yaml

HELP_PLUGIN = '''
from botframework import hookimpl

@hookimpl
def answer_without_model(message, conversation):
    return "Ask me anything!" if message.text.strip() == "help" else None
'''


def last_error(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines, "nothing on stderr"
    return lines[-1]


def console_script(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """The installed ``botframework`` command (not ``python -m``: the current directory is not on
    its Python path)."""
    command = Path(sys.executable).with_name("botframework")
    return subprocess.run(
        [str(command), *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("hi\nhelp\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["test", "BOT", "--input", "missing.txt"], "--input missing.txt: no such file"),
        (["test", "BOT", "--input", "PROMPTS", "--output", "nodir/x.jsonl"],
         "--output nodir/x.jsonl: folder nodir does not exist"),
        (["test", "BOT", "--input", "EMPTY"], "--input EMPTY: no prompts (the input is empty)"),
        (["eval", "BOT", "--prompts", "missing"], "--prompts missing: no such file"),
        (["tune", "BOT", "--pairs", "missing"], "--pairs missing: no such file"),
    ],
)
def test_file_mistakes_are_one_line(
    tiny_bot_yaml: Path,
    prompts: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    names = {"BOT": str(tiny_bot_yaml), "PROMPTS": str(prompts), "EMPTY": "empty.txt"}
    assert main([names.get(arg, arg) for arg in command]) == 2
    assert last_error(capsys) == f"botframework: error: {message.replace('EMPTY', 'empty.txt')}"
    assert not (tmp_path / "nodir").exists()


def test_serve_mistakes_are_one_line(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    ssl = ["--ssl-cert", "missing.pem", "--ssl-key", "key.pem"]
    result = console_script("serve", str(tiny_bot_yaml), *ssl, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "botframework: error: --ssl-cert missing.pem: no such file\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        state = ["--state-dir", str(tmp_path / "state")]
        result = console_script("serve", str(tiny_bot_yaml), "--port", port, *state, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"botframework: error: --host 127.0.0.1 --port {port}: address already in use "
        "(is another server running? pick another --port)"
    )
    assert "Traceback" not in result.stderr


def test_test_answers_through_the_pipeline_with_a_plugin_beside_the_yaml(
    tiny_bot_yaml: Path, prompts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = tmp_path / "bot"
    shutil.copytree(tiny_bot_yaml.parent, bot)
    (bot / "help_answers.py").write_text(HELP_PLUGIN, encoding="utf-8")
    yaml = bot / tiny_bot_yaml.name
    yaml.write_text(yaml.read_text() + "plugins:\n  load: [help_answers]\n", encoding="utf-8")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the plugin's folder is added for this test
    monkeypatch.delitem(sys.modules, "help_answers", raising=False)
    output = tmp_path / "out.jsonl"
    assert main(["test", str(yaml), "--input", str(prompts), "--output", str(output)]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(row["reply"], row["answered_by"]) for row in rows] == [
        ("hello there", "model"),
        ("Ask me anything!", "plugin"),
    ]
    assert rows[0]["replies"][0]["text"] == "hello there" and rows[1]["replies"] == []
    assert main(["test", str(yaml), "--input", str(prompts), "--output", str(output), "--no-pipeline"]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert "reply" not in rows[1] and rows[1]["replies"][0]["text"] != "Ask me anything!"


def test_a_local_plugin_in_the_current_directory_loads_from_the_command(tmp_path: Path) -> None:
    (tmp_path / "help_here.py").write_text(HELP_PLUGIN, encoding="utf-8")
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "b.yaml").write_text("plugins:\n  load: [help_here]\n", encoding="utf-8")
    result = console_script("plugins", "--bot", "bots/b.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "help_here: answer_without_model" in result.stdout
    (tmp_path / "bots" / "c.yaml").write_text("plugins:\n  load: [nowhere]\n", encoding="utf-8")
    result = console_script("plugins", "--bot", "bots/c.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "botframework: error: plugins.load: cannot import plugin 'nowhere': no module 'nowhere' "
        f"(looked in the Python path, {(tmp_path / 'bots').resolve()}, {tmp_path.resolve()})\n"
    )


def test_a_copied_yaml_says_where_it_looked_and_finds_the_backward_model_beside(
    tiny_bot_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = sorted((tiny_bot_yaml.parent / "works/tiny/checkpoints").glob("step-*"))[-1]
    shipped = tmp_path / "bots" / "tiny" / "model.safetensors"
    (shipped.parent / "reverse").mkdir(parents=True)
    shutil.copy(trained, shipped)
    shutil.copy(trained, shipped.parent / "reverse" / "model.safetensors")  # stands in for one
    shutil.copy(tiny_bot_yaml.parent / "corpus.txt", tmp_path / "bots")
    mine = write_bot_yaml(tmp_path / "bots", name="mine")
    monkeypatch.chdir(tmp_path)
    assert main(["chat", str(mine)]) == 2
    error = last_error(capsys)
    assert f"none in {tmp_path / 'bots/works/mine'}/checkpoints and none shipped at " in error
    assert f"or pass --checkpoint PATH (e.g. --checkpoint {shipped})" in error
    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
    assert main(["chat", str(mine), "--checkpoint", str(shipped)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "hello there\n"
    assert f"botframework: mine: model {shipped} (step 150, as asked)" in captured.err
    assert f"botframework: mine: backward model {shipped.parent / 'reverse' / 'model.safetensors'}" in captured.err


def test_every_model_load_says_which_checkpoint_and_how_to_get_the_shipped_one_back(
    tiny_bot_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_bot_yaml.parent, copy)
    trained = sorted((copy / "works/tiny/checkpoints").glob("step-*"))[-1]
    shipped = copy / "tiny" / "model.safetensors"
    shipped.parent.mkdir()
    shutil.copy(trained, shipped)
    monkeypatch.setattr(sys, "stdin", io.StringIO("hi\n"))
    assert main(["chat", str(copy / "tiny.yaml")]) == 0
    err = capsys.readouterr().err
    assert f"botframework: tiny: model {trained} (step 150, the newest trained); the shipped {shipped} is not used: " \
        f"to go back to it, pass --checkpoint {shipped} or delete {copy / 'works/tiny/checkpoints'}" in err
    assert f"botframework: tiny: no backward model (looked in {copy / 'works/tiny/reverse/checkpoints'}" in err


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        (["--workers", "2"], {},
         "--workers 2 needs a store the processes can share: SQLite belongs to one process; "
         "use --store postgresql://user@host:port/database"),
        (["--workers", "2", "--store", "sqlite:///s.db"], {}, "--workers 2 needs a store"),
        (["--workers", "0"], {}, "--workers must be at least 1, got 0"),
        (["--store", "mysql://bot@db/bot"], {},
         "--store: unknown store 'mysql': use sqlite:///path/to/store.sqlite3 or "
         "postgresql://user@host:port/database"),
        ([], {"BOTFRAMEWORK_STORE": "redis://cache"}, "BOTFRAMEWORK_STORE: unknown store 'redis'"),
        (["--store", "postgresql://bot:pw@/bot?host=/nonexistent"], {},
         "cannot use the store postgresql://bot:***@/bot?host=/nonexistent"),
    ],
)
def test_store_mistakes_are_one_line(
    tiny_bot_yaml: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    environ: dict[str, str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    state = ["--state-dir", str(tmp_path / "state")]
    assert main(["serve", str(tiny_bot_yaml), *state, *options]) == 2
    stderr = capsys.readouterr().err
    assert stderr.strip().splitlines()[-1].startswith(f"botframework: error: {message}"), stderr
    assert ":pw@" not in stderr and "Traceback" not in stderr
    assert not (tmp_path / "state").exists()
