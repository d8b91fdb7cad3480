"""Crafted checkpoints: bad metadata or tensors that do not fit it get one line naming the file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from botframework.cli import main

Tensors = dict[str, torch.Tensor]
Metadata = dict[str, str]


def trained_checkpoint(tiny_bot_yaml: Path) -> Path:
    return sorted((tiny_bot_yaml.parent / "works/tiny/checkpoints").glob("step-*.safetensors"))[-1]


def crafted(source: Path, target: Path, change: Callable[[Tensors, Metadata], None]) -> Path:
    """A copy of ``source`` with its tensors and metadata changed by ``change``."""
    with safe_open(str(source), framework="pt") as handle:
        metadata = dict(handle.metadata())
    tensors = load_file(str(source))
    change(tensors, metadata)
    save_file(tensors, str(target), metadata=metadata)
    return target


def set_key(key: str, value: str) -> Callable[[Tensors, Metadata], None]:
    return lambda tensors, metadata: metadata.__setitem__(key, value)


def drop_key(key: str) -> Callable[[Tensors, Metadata], None]:
    return lambda tensors, metadata: metadata.pop(key)


def edit_config(section: str, key: str, value: object) -> Callable[[Tensors, Metadata], None]:
    def change(tensors: Tensors, metadata: Metadata) -> None:
        config = json.loads(metadata["config"])
        config[section][key] = value
        metadata["config"] = json.dumps(config)

    return change


def wrong_shape(tensors: Tensors, metadata: Metadata) -> None:
    tensors["combine.weight"] = torch.zeros(3, 5)


def extra_tensor(tensors: Tensors, metadata: Metadata) -> None:
    tensors["smuggled.weight"] = torch.zeros(2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_key("format_version", "abc"), "metadata 'format_version' must be a whole number, got 'abc'"),
        (set_key("step", "x"), "metadata 'step' must be a whole number, got 'x'"),
        (set_key("config", "{not json"), "metadata 'config' is not valid JSON"),
        (set_key("config", "[1, 2]"), "metadata 'config' must be a JSON object"),
        (drop_key("tokenizer"), "metadata key 'tokenizer' is missing"),
        (set_key("tokenizer", "{}"), "metadata 'tokenizer' cannot be read"),
        (edit_config("model", "colour", "red"), "(stored config): model.colour: unknown key"),
        (edit_config("model", "hidden_size", 1e9), "stored config describes a model that cannot be built"),
        (edit_config("model", "hidden_size", 48), "tensor 'encoder.weight_ih_l0' has shape (192, 32), but "),
        (wrong_shape, "tensor 'combine.weight' has shape (3, 5), but the stored config"),
        (extra_tensor, "tensor 'smuggled.weight' is not part of the model"),
    ],
)
def test_a_bad_checkpoint_is_one_line_naming_the_file(
    tiny_bot_yaml: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Tensors, Metadata], None],
    message: str,
) -> None:
    bad = crafted(trained_checkpoint(tiny_bot_yaml), tmp_path / "bad.safetensors", change)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("hi\n", encoding="utf-8")
    assert main(["test", str(tiny_bot_yaml), "--checkpoint", str(bad), "--input", str(prompts)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"botframework: error: {bad}")
    assert message in error


def test_a_sound_crafted_copy_still_loads(tiny_bot_yaml: Path, tmp_path: Path) -> None:
    from botframework import Bot

    copy = crafted(trained_checkpoint(tiny_bot_yaml), tmp_path / "copy.safetensors", set_key("step", "7"))
    bot = Bot.load(tiny_bot_yaml, checkpoint=copy)
    assert bot.checkpoint.step == 7
    assert bot.reply("hi") == "hello there"
