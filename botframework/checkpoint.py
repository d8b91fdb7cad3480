"""Saving and loading trained models as safetensors: weights plus everything needed to use them.

A checkpoint is one self-contained ``.safetensors`` file. Its metadata holds the format version, the
bot configuration the model was trained with (so ``test``/``chat``/``serve`` take the model's shape
from it, never from flags), the tokenizer (name and JSON) and the training step. Loading executes no
code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from botframework.config.loader import BotDefinition, ConfigError, validate
from botframework.config.schema import BotConfig, ModelConfig, without_moved_keys
from botframework.config.storing import settings_to_store
from botframework.data.tokenizer import Tokenizer
from botframework.version import CHECKPOINT_FORMAT_VERSION, __version__


T = TypeVar("T")
#: The model file a bot ships with, in ``bots/<name>/`` beside its YAML.
SHIPPED_MODEL = "model.safetensors"
#: Model settings that leave the weights' shapes alone: a trained model can be used or trained
#: further with other values (``--set model.source_cache=0.02``); the others are its shape.
SHAPE_FREE_SETTINGS = frozenset({"dropout", "sampled_softmax", "source_cache"})


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or of an unknown format."""


@dataclass
class Checkpoint:
    state_dict: dict[str, torch.Tensor]
    config: BotConfig
    tokenizer_name: str
    tokenizer_json: str
    step: int
    path: Path


def save_checkpoint(
    path: Path,
    state_dict: dict[str, torch.Tensor],
    config: BotConfig,
    tokenizer: Tokenizer,
    step: int,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write atomically (a temporary file renamed into place) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().to("cpu")
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    metadata = {
        "format": "botframework",
        "format_version": str(CHECKPOINT_FORMAT_VERSION),
        "botframework_version": __version__,
        "config": json.dumps(settings_to_store(config)),
        "tokenizer_name": config.tokenizer.name,
        "tokenizer": tokenizer.to_json(),
        "step": str(step),
    }
    temporary = path.with_name(path.name + ".tmp")
    save_file(tensors, str(temporary), metadata=metadata)
    temporary.replace(path)
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint, its metadata checked before any tensor is read."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    metadata = _read_safetensors(path, _metadata_of)
    config, step = _checked_metadata(path, metadata)
    state_dict = _read_safetensors(path, load_file)
    state_dict = {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}
    return Checkpoint(
        state_dict=state_dict,
        config=config,
        tokenizer_name=metadata["tokenizer_name"],
        tokenizer_json=metadata["tokenizer"],
        step=step,
        path=path,
    )


def _read_safetensors(path: Path, read: Callable[[str], T]) -> T:
    try:
        return read(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a safetensors checkpoint: {error}") from None


def _metadata_of(filename: str) -> dict[str, str]:
    with safe_open(filename, framework="pt") as handle:
        return handle.metadata() or {}


def _checked_metadata(path: Path, metadata: dict[str, str]) -> tuple[BotConfig, int]:
    """The stored configuration and step, once every metadata key is known to be sound."""
    if metadata.get("format") != "botframework":
        raise CheckpointError(f"{path}: not a botframework checkpoint")
    version = _whole_number(path, metadata, "format_version")
    if version > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this botframework understands "
            f"({CHECKPOINT_FORMAT_VERSION}); upgrade botframework"
        )
    for key in ("config", "tokenizer_name", "tokenizer"):
        if key not in metadata:
            raise CheckpointError(f"{path}: metadata key {key!r} is missing")
    return _stored_config(path, metadata["config"]), _whole_number(path, metadata, "step")


def _whole_number(path: Path, metadata: dict[str, str], key: str) -> int:
    text = metadata.get(key, "0")
    if not text.isascii() or not text.isdigit():
        raise CheckpointError(f"{path}: metadata {key!r} must be a whole number, got {text!r}")
    return int(text)


def _stored_config(path: Path, text: str) -> BotConfig:
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: metadata 'config' is not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: metadata 'config' must be a JSON object")
    try:
        return validate(without_moved_keys(raw), Path(f"{path} (stored config)"))
    except ConfigError as error:
        raise CheckpointError(str(error)) from None


def check_tensor_shapes(checkpoint: Checkpoint, vocab_size: int) -> None:
    """Refuse tensors that do not fit the stored configuration, before any weight is allocated."""
    from botframework.model.seq2seq import Seq2Seq

    path = checkpoint.path
    try:
        with torch.device("meta"):
            expected = Seq2Seq(vocab_size, checkpoint.config.model).state_dict()
    except (RuntimeError, ValueError, OverflowError) as error:
        raise CheckpointError(
            f"{path}: its stored config describes a model that cannot be built ({error})"
        ) from None
    found = checkpoint.state_dict
    for names, problem in (
        (expected.keys() - found.keys(), "is missing"),
        (found.keys() - expected.keys(), "is not part of the model"),
    ):
        if names:
            raise CheckpointError(f"{path}: tensor {sorted(names)[0]!r} {problem}")
    for name, tensor in expected.items():
        if found[name].shape != tensor.shape:
            raise CheckpointError(
                f"{path}: tensor {name!r} has shape {tuple(found[name].shape)}, but the stored "
                f"config and its {vocab_size}-word vocabulary need {tuple(tensor.shape)}"
            )


def model_settings(checkpoint: Checkpoint, definition: BotDefinition) -> ModelConfig:
    """The checkpoint's model settings, with the shape-free ones that ``--set`` gave a value.

    A checkpoint keeps the settings it was trained with, whatever the YAML's model section says;
    ``--set model.source_cache=0.02`` still changes them for this run (or, with ``export``, in the
    exported file). ``--set`` of a shape setting is an error unless it matches the checkpoint.
    """
    trained = checkpoint.config.model
    asked = definition.config.model
    changed = {}
    for key_path in sorted(definition.overridden):
        section, _, key = key_path.partition(".")
        if section != "model" or getattr(trained, key, None) == getattr(asked, key, None):
            continue
        if key not in SHAPE_FREE_SETTINGS:
            raise ConfigError(
                f"--set {key_path}: {checkpoint.path} was trained with {key} "
                f"{getattr(trained, key, None)!r}; only {', '.join(sorted(SHAPE_FREE_SETTINGS))} "
                "can change without training again"
            )
        changed[key] = getattr(asked, key)
    return trained.model_copy(update=changed)


def newest_trained_checkpoint(workspace: Path) -> Path | None:
    """The most recently written checkpoint in a bot's workspace, or None."""
    trained = sorted(
        (workspace / "checkpoints").glob("*.safetensors"), key=lambda p: p.stat().st_mtime
    )
    return trained[-1] if trained else None


def find_checkpoint(workspace: Path, shipped_dir: Path) -> Path | None:
    """The newest trained checkpoint in the workspace, else the shipped one, else None."""
    trained = newest_trained_checkpoint(workspace)
    if trained is not None:
        return trained
    shipped = shipped_dir / SHIPPED_MODEL
    return shipped if shipped.is_file() else None


def default_checkpoint(definition: BotDefinition) -> Path:
    """The checkpoint a bot uses without ``--checkpoint``; else an error naming where it looked."""
    found = find_checkpoint(definition.workspace, definition.shipped_dir)
    if found is not None:
        return found
    others = sorted(definition.directory.glob(f"*/{SHIPPED_MODEL}"))
    example = f" (e.g. --checkpoint {others[0]})" if others else ""
    raise CheckpointError(
        f"{definition.path}: no trained model: none in {definition.workspace}/checkpoints and "
        f"none shipped at {definition.shipped_dir / SHIPPED_MODEL}; run "
        f"`botframework train {definition.path}` first, or pass --checkpoint PATH{example}"
    )


def describe_choice(definition: BotDefinition, checkpoint: Checkpoint) -> str:
    """Which checkpoint a bot loaded; how to go back to a shipped one passed over."""
    path, shipped = checkpoint.path, definition.shipped_dir / SHIPPED_MODEL
    if path == shipped:
        why = "shipped"
    elif path == newest_trained_checkpoint(definition.workspace):
        why = "the newest trained"
    else:
        why = "as asked"
    text = f"{definition.config.name}: model {path} (step {checkpoint.step}, {why})"
    if path != shipped and shipped.is_file():
        text += (
            f"; the shipped {shipped} is not used: to go back to it, pass --checkpoint {shipped} "
            f"or delete {definition.workspace / 'checkpoints'}"
        )
    return text
