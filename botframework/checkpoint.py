"""Saving and loading trained models as safetensors: weights plus everything needed to use them.

A checkpoint is one self-contained ``.safetensors`` file. Its metadata holds the format version, the
bot configuration the model was trained with (so ``test``/``chat``/``serve`` take the model's shape
from it, never from flags), the tokenizer (name and JSON) and the training step. Loading executes no
code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from botframework.config.schema import BotConfig, stored_config
from botframework.data.tokenizer import Tokenizer
from botframework.version import CHECKPOINT_FORMAT_VERSION, __version__


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
        "config": config.model_dump_json(),
        "tokenizer_name": config.tokenizer.name,
        "tokenizer": tokenizer.to_json(),
        "step": str(step),
    }
    temporary = path.with_name(path.name + ".tmp")
    save_file(tensors, str(temporary), metadata=metadata)
    temporary.replace(path)
    return path


def load_checkpoint(path: Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        state_dict = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a safetensors checkpoint: {error}") from None
    if metadata.get("format") != "botframework":
        raise CheckpointError(f"{path}: not a botframework checkpoint")
    version = int(metadata.get("format_version", "0"))
    if version > CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this botframework understands "
            f"({CHECKPOINT_FORMAT_VERSION}); upgrade botframework"
        )
    state_dict = {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}
    return Checkpoint(
        state_dict=state_dict,
        config=stored_config(json.loads(metadata["config"])),
        tokenizer_name=metadata["tokenizer_name"],
        tokenizer_json=metadata["tokenizer"],
        step=int(metadata.get("step", "0")),
        path=path,
    )


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
    shipped = shipped_dir / "model.safetensors"
    return shipped if shipped.is_file() else None
