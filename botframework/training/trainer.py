"""Build the Lightning Trainer for a bot and train it, resuming from its last checkpoint."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from botframework.config.loader import BotDefinition
from botframework.config.schema import BotConfig
from botframework.data.tokenizer import Tokenizer
from botframework.training.export import SafetensorsExport
from botframework.training.task import Seq2SeqTask

#: How many exported safetensors checkpoints a workspace keeps.
KEEP_EXPORTED = 3


def train(
    definition: BotDefinition,
    tokenizer: Tokenizer,
    datamodule: pl.LightningDataModule,
    *,
    extra_callbacks: Sequence[Callback] = (),
    progress_bar: bool = True,
    max_steps: int | None = None,
    initial_weights: dict[str, torch.Tensor] | None = None,
) -> Path | None:
    """Train the bot's model; return the newest safetensors checkpoint in its workspace.

    With ``training.strategy: ddp`` every process of the run calls this; only the first writes
    checkpoints and logs, and the others return None.

    Resumes from ``<workspace>/checkpoints/lightning/last.ckpt`` when it exists; otherwise starts
    from ``initial_weights`` (a model state dict, e.g. a shipped model's) when given. Every
    ``training.steps_per_checkpoint`` steps and at the end, the model is exported to
    ``<workspace>/checkpoints/step-XXXXXXXX.safetensors``. ``max_steps`` overrides the YAML's.
    """
    config = definition.config
    if config.training.seed is not None:
        pl.seed_everything(config.training.seed, workers=True, verbose=False)
    checkpoints = definition.workspace / "checkpoints"
    resume_dir = checkpoints / "lightning"
    export = SafetensorsExport(checkpoints, config, tokenizer, keep=KEEP_EXPORTED)
    resume = ModelCheckpoint(
        dirpath=resume_dir,
        every_n_train_steps=config.training.steps_per_checkpoint,
        save_top_k=0,
        save_last=True,
        enable_version_counter=False,
    )
    trainer = build_trainer(
        config,
        definition.workspace,
        callbacks=[resume, export, *extra_callbacks],
        progress_bar=progress_bar,
        max_steps=max_steps,
        epoch_length=_epoch_length(datamodule),
    )
    task = Seq2SeqTask(config, tokenizer.vocab_size, _token_counts(tokenizer))
    last = resume_dir / "last.ckpt"
    if initial_weights is not None and not last.is_file():
        task.model.load_state_dict(initial_weights)
    trainer.fit(
        task, datamodule=datamodule, ckpt_path=last if last.is_file() else None, weights_only=True
    )
    if export.checkpointed_step != trainer.global_step:
        # The last steps since the periodic checkpoint would otherwise be redone on resume.
        trainer.save_checkpoint(last, weights_only=False)
    if not trainer.is_global_zero:
        return None
    newest = export.newest()
    if newest is None:
        raise RuntimeError(f"training wrote no checkpoint to {checkpoints}")
    return newest


def build_trainer(
    config: BotConfig,
    workspace: Path,
    callbacks: Sequence[Callback] = (),
    *,
    progress_bar: bool = True,
    max_steps: int | None = None,
    epoch_length: int | None = None,
) -> pl.Trainer:
    """A Trainer configured from ``config.training``, logging under ``workspace/logs``.

    Validation runs every ``steps_per_checkpoint`` batches, counted across epochs, or at the end
    of every epoch when an epoch (``epoch_length`` batches, None when unknown) is shorter.
    """
    training = config.training
    every = training.steps_per_checkpoint
    each_epoch = epoch_length is not None and 0 < epoch_length < every
    log_interval = min(10, every, epoch_length or every)
    return pl.Trainer(
        accelerator=training.accelerator,
        devices=training.devices,
        strategy=training.strategy,
        num_nodes=training.num_nodes,
        precision=training.precision,
        max_steps=training.max_steps if max_steps is None else max_steps,
        max_epochs=training.max_epochs,
        max_time=training.max_time,
        gradient_clip_val=training.gradient_clip or None,
        val_check_interval=None if each_epoch else every,
        check_val_every_n_epoch=1 if each_epoch else None,
        log_every_n_steps=log_interval,
        logger=_loggers(workspace / "logs"),
        callbacks=list(callbacks),
        enable_progress_bar=progress_bar,
        enable_model_summary=progress_bar,
    )


def _loggers(directory: Path) -> list[Logger]:
    loggers: list[Logger] = [CSVLogger(directory, name="")]
    if importlib.util.find_spec("tensorboard") is not None:
        loggers.append(TensorBoardLogger(directory, name="tensorboard"))
    return loggers


def _epoch_length(datamodule: pl.LightningDataModule) -> int | None:
    """Training batches per epoch, when the data module can tell without iterating."""
    datamodule.setup("fit")
    try:
        return len(datamodule.train_dataloader())
    except TypeError:
        return None


def _token_counts(tokenizer: Tokenizer) -> list[int] | None:
    counts = getattr(tokenizer, "token_counts", None)
    if counts is None or len(counts) != tokenizer.vocab_size or not any(counts):
        return None
    return list(counts)
