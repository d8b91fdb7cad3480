"""The command line end to end: train (in the session fixture), test, chat, plugins, resume."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from botframework.cli import main
from tests.conftest import TINY_PAIRS

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "botframework", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_test_command_writes_one_json_row_per_input(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(p + "\n" for p, _ in TINY_PAIRS[:5]), encoding="utf-8")
    output = tmp_path / "replies.jsonl"
    result = run_cli("test", str(tiny_bot_yaml), "--input", str(prompts), "--output", str(output))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["input"] for row in rows] == [p for p, _ in TINY_PAIRS[:5]]
    assert [row["replies"][0]["text"] for row in rows] == [r for _, r in TINY_PAIRS[:5]]
    assert all(isinstance(row["replies"][0]["score"], float) for row in rows)


def test_chat_answers_on_stdin(tiny_bot_yaml: Path) -> None:
    result = run_cli("chat", str(tiny_bot_yaml), stdin="hi\nbye\nexit\nnever read\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["hello there", "see you later"]


def test_help_version_and_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "decoders.greedy: register_decoders" in out
    assert "greedy" in out.split("decoders: ", 1)[1].splitlines()[0]
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "botframework 0.1.0" in capsys.readouterr().out
    for command in ("train", "test", "chat", "plugins", "bench", "export", "tune", "reinforce", "eval", "serve"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: botframework" in capsys.readouterr().out


def test_errors_are_reported_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  num_layers: two\n")
    assert main(["train", str(bad)]) == 2
    assert f'{bad}: model.num_layers: expected an integer, got "two"' in capsys.readouterr().err
    empty = tmp_path / "empty.yaml"
    empty.write_text("corpus:\n  path: missing.txt\n")
    assert main(["train", str(empty)]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["chat", str(empty)]) == 2
    assert "run `botframework train" in capsys.readouterr().err


def test_train_resumes_from_the_last_checkpoint(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_bot_yaml.parent, copy)
    yaml = copy / tiny_bot_yaml.name
    assert main(["train", str(yaml), "--no-progress", "--set", "training.max_steps=170"]) == 0
    names = sorted(p.name for p in (copy / "works" / "tiny" / "checkpoints").glob("*.safetensors"))
    assert names[-1] == "step-00000170.safetensors"
    assert "step-00000150.safetensors" in names


def test_checkpoint_option_and_shape_from_checkpoint(tiny_bot_yaml: Path) -> None:
    """The shape comes from the trained model; a --set that asks for another one is an error
    rather than silently ignored."""
    from botframework import Bot
    from botframework.config.loader import ConfigError

    checkpoint = sorted((tiny_bot_yaml.parent / "works" / "tiny" / "checkpoints").glob("*.safetensors"))[-1]
    bot = Bot.load(tiny_bot_yaml, ["model.hidden_size=64"], checkpoint)
    assert bot.model.config.hidden_size == 64
    assert bot.reply("hi") == "hello there"
    with pytest.raises(ConfigError, match="--set model.num_layers: .* was trained with num_layers 1"):
        Bot.load(tiny_bot_yaml, ["model.hidden_size=64", "model.num_layers=3"], checkpoint)


def test_backward_model_is_trained_and_loaded(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    import torch

    from botframework import Bot

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bot_yaml.parent, copy)
    yaml = copy / tiny_bot_yaml.name
    assert main(["train", str(yaml), "--no-progress", "--reverse", "--set", "training.max_steps=200"]) == 0
    assert (copy / "works" / "tiny" / "reverse" / "checkpoints" / "step-00000200.safetensors").is_file()
    bot = Bot.load(yaml)
    reverse = bot.extra_models["reverse"]

    def log_p(source: str, target: str) -> float:
        ctx = bot.scoring_context([[source]])
        ids = torch.tensor([bot.tokenizer.encode(target) + [bot.tokenizer.eos_id]])
        return float(reverse.sequence_log_probs(ctx.source_ids, ctx.source_lengths, ids, torch.tensor([ids.shape[1]])))

    prompt, reply = TINY_PAIRS[3]
    assert log_p(reply, prompt) > log_p(reply, TINY_PAIRS[7][0]) + 5


def test_export_ships_a_half_precision_copy_that_answers_the_same(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    from botframework import Bot

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bot_yaml.parent, copy)
    yaml = copy / tiny_bot_yaml.name
    assert main(["export", str(yaml), "--dtype", "float16"]) == 0
    shipped = copy / "tiny" / "model.safetensors"
    assert shipped.is_file()
    shutil.rmtree(copy / "works")  # no trained checkpoint left: the shipped one is used
    bot = Bot.load(yaml)
    assert bot.checkpoint.path == shipped
    assert [bot.reply(prompt) for prompt, _ in TINY_PAIRS] == [reply for _, reply in TINY_PAIRS]
    assert main(["export", str(yaml)]) == 2  # nothing left to export


def test_set_changes_a_trained_models_shape_free_settings_and_export_keeps_them(
    tiny_bot_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from botframework import Bot
    from botframework.checkpoint import load_checkpoint

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bot_yaml.parent, copy)
    yaml = copy / tiny_bot_yaml.name
    trained = Bot.load(yaml)
    assert trained.model.config.source_cache == 0
    cached = Bot.load(yaml, ["model.source_cache=0.05", "model.hidden_size=64"])
    assert cached.model.config.source_cache == 0.05
    assert cached.trained_config.model.source_cache == 0  # the checkpoint itself is unchanged
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(cached.model.state_dict()[name], tensor)

    assert main(["export", str(yaml), "--set", "model.source_cache=0.05"]) == 0
    shipped = load_checkpoint(copy / "tiny" / "model.safetensors")
    assert shipped.config.model.source_cache == 0.05
    assert shipped.config.model.hidden_size == 64
    capsys.readouterr()

    assert main(["export", str(yaml), "--set", "model.hidden_size=32"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--set model.hidden_size:" in error[0]
    assert "trained with hidden_size 64" in error[0] and "source_cache" in error[0]
    assert load_checkpoint(copy / "tiny" / "model.safetensors").config.model.source_cache == 0.05


def test_training_can_start_from_a_shipped_model(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    from botframework import Bot

    checkpoint = sorted((tiny_bot_yaml.parent / "works" / "tiny" / "checkpoints").glob("*.safetensors"))[-1]
    fresh = tmp_path / "fresh"
    shutil.copytree(tiny_bot_yaml.parent, fresh, ignore=shutil.ignore_patterns("works"))
    yaml = fresh / tiny_bot_yaml.name
    steps = ["--set", "training.max_steps=2", "--set", "training.learning_rate=0.000001"]
    assert main(["train", str(yaml), "--no-progress", "--init-from", str(checkpoint), *steps]) == 0
    bot = Bot.load(yaml)
    assert bot.checkpoint.step == 2
    assert [bot.reply(prompt) for prompt, _ in TINY_PAIRS] == [reply for _, reply in TINY_PAIRS]
    shape = ["--set", "model.hidden_size=32"]
    assert main(["train", str(yaml), "--init-from", str(checkpoint), *steps, *shape]) == 2
    regularised = ["--set", "model.dropout=0.3", "--set", "training.max_steps=3"]
    assert main(["train", str(yaml), "--no-progress", "--init-from", str(checkpoint), *regularised]) == 0
    cached = ["--set", "model.source_cache=0.05", "--set", "training.max_steps=4"]
    assert main(["train", str(yaml), "--no-progress", "--init-from", str(checkpoint), *cached]) == 0
    assert Bot.load(yaml).model.config.source_cache == 0.05


def test_the_backward_model_can_start_from_the_forward_weights(
    tiny_bot_yaml: Path, tmp_path: Path
) -> None:
    from botframework.checkpoint import load_checkpoint

    checkpoint = sorted((tiny_bot_yaml.parent / "works" / "tiny" / "checkpoints").glob("*.safetensors"))[-1]
    fresh = tmp_path / "fresh"
    shutil.copytree(tiny_bot_yaml.parent, fresh, ignore=shutil.ignore_patterns("works"))
    steps = ["--set", "training.max_steps=2", "--set", "training.learning_rate=0.000001"]
    args = ["train", str(fresh / tiny_bot_yaml.name), "--no-progress", "--reverse"]
    assert main([*args, "--init-from", str(checkpoint), *steps]) == 0
    backward = load_checkpoint(next((fresh / "works/tiny/reverse/checkpoints").glob("step-*")))
    forward = load_checkpoint(checkpoint).state_dict
    assert backward.state_dict.keys() == forward.keys()
    for name, weights in forward.items():
        assert torch.allclose(backward.state_dict[name].float(), weights.float(), atol=1e-4), name
