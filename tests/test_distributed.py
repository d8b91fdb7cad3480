"""Distributed training proven on CPU: ``training.strategy: ddp`` with two processes (gloo) trains
a bot whose checkpoint loads and replies; only the first process writes; ``reinforce`` refuses DDP
in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from botframework.cli import main
from tests.conftest import write_bot_yaml, write_twitter_corpus
from tests.test_cli_errors import console_script

pytestmark = pytest.mark.slow

DDP = ["--set", "training.strategy=ddp", "--set", "training.devices=2"]


def test_ddp_on_two_cpu_processes_trains_a_bot_that_loads_and_replies(tmp_path: Path) -> None:
    from botframework import Bot

    write_twitter_corpus(tmp_path / "corpus.txt")
    yaml = write_bot_yaml(tmp_path)
    result = console_script(
        "train", str(yaml), "--no-progress", "--max-steps", "60", *DDP, cwd=tmp_path, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "world_size=2" in result.stderr or "MEMBER: 2/2" in result.stderr, result.stderr
    assert result.stdout.count("forward model saved to") == 1  # said by the first process only
    workspace = tmp_path / "works" / "tiny"
    exported = sorted(path.name for path in (workspace / "checkpoints").glob("*.safetensors"))
    assert exported == ["step-00000050.safetensors", "step-00000060.safetensors"]
    assert [path.name for path in (workspace / "logs").glob("version_*")] == ["version_0"]
    reply = Bot.load(yaml).reply("hi")
    assert reply and reply.strip()


def test_only_the_first_process_of_a_run_writes_the_vocabulary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botframework.bot import LoadedPlugins
    from botframework.config.loader import load_definition
    from botframework.data.prepare import (
        TOKENIZER_FILE,
        load_or_train_tokenizer,
        read_conversations,
    )

    write_twitter_corpus(tmp_path / "corpus.txt")
    definition = load_definition(write_bot_yaml(tmp_path))
    loaded = LoadedPlugins(definition)
    conversations = read_conversations(definition, loaded.parts)
    vocabulary = definition.workspace / TOKENIZER_FILE
    monkeypatch.setenv("LOCAL_RANK", "1")
    second = load_or_train_tokenizer(definition, loaded.parts, conversations)
    assert not vocabulary.exists()
    monkeypatch.delenv("LOCAL_RANK")
    first = load_or_train_tokenizer(definition, loaded.parts, conversations)
    assert vocabulary.is_file() and first.to_json() == second.to_json()


def test_reinforce_refuses_ddp_in_one_line(
    tiny_bot_yaml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reinforce", str(tiny_bot_yaml), "--steps", "1", *DDP]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("botframework: error: ") and "reinforce runs on one device" in error
    assert "--set training.strategy=auto --set training.devices=1" in error
