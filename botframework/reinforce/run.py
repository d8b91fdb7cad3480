"""Reinforcement learning of a trained bot, from its YAML to a new checkpoint beside the MLE one."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, RandomSampler

from botframework.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from botframework.config.loader import BotDefinition, load_definition
from botframework.config.schema import BotConfig, ReinforceConfig
from botframework.data.tokenizer import Tokenizer
from botframework.reinforce.rewards import (
    DEFAULT_REWARDS,
    RewardScorer,
    build_reward_rules,
    check_required_models,
)
from botframework.reinforce.task import ReinforceTask

if TYPE_CHECKING:
    from botframework.bot import Bot

#: How many RL checkpoints a workspace keeps.
KEEP_EXPORTED = 3
RL_PREFIX = "rl-step-"


def mle_checkpoint(definition: BotDefinition) -> Path | None:
    """The newest MLE checkpoint (``step-*.safetensors``) in the workspace, else the shipped one."""
    trained = sorted(
        (definition.workspace / "checkpoints").glob("step-*.safetensors"),
        key=lambda path: path.stat().st_mtime,
    )
    if trained:
        return trained[-1]
    shipped = definition.shipped_dir / "model.safetensors"
    return shipped if shipped.is_file() else None


def start_checkpoint(definition: BotDefinition, checkpoint: str | Path | None) -> Path:
    """``checkpoint`` if given, else the newest MLE one; a :class:`CheckpointError` if none."""
    if checkpoint is not None:
        return Path(checkpoint)
    found = mle_checkpoint(definition)
    if found is None:
        raise CheckpointError(
            f"{definition.path}: no MLE checkpoint to start reinforcement learning from: none in "
            f"{definition.workspace / 'checkpoints'} and none shipped in {definition.shipped_dir}; "
            f"run `botframework train {definition.path}` first, or pass --checkpoint"
        )
    return found


class RlExport(pl.Callback):
    """Writes ``directory/rl-step-XXXXXXXX.safetensors`` every ``every`` steps, at the end and on
    Ctrl-C, keeping the newest :data:`KEEP_EXPORTED`. ``first_step`` numbers a continued run."""

    def __init__(
        self, directory: Path, config: BotConfig, tokenizer: Tokenizer, every: int, first_step: int
    ) -> None:
        self.directory, self.config, self.tokenizer = directory, config, tokenizer
        self.every, self.first_step = every, first_step
        self.written: Path | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        if trainer.global_step % self.every == 0:
            self.export(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        self.export(trainer, pl_module)

    def on_exception(self, trainer: pl.Trainer, pl_module: Any, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.export(trainer, pl_module)

    def export(self, trainer: pl.Trainer, pl_module: Any) -> None:
        step = self.first_step + trainer.global_step
        path = self.directory / f"{RL_PREFIX}{step:08d}.safetensors"
        if self.written == path or not trainer.is_global_zero:
            return
        save_checkpoint(path, pl_module.model.state_dict(), self.config, self.tokenizer, step)
        self.written = path
        for old in sorted(self.directory.glob(f"{RL_PREFIX}*.safetensors"))[:-KEEP_EXPORTED]:
            old.unlink(missing_ok=True)


def reinforce(
    bot_path: str | Path,
    overrides: Iterable[str] = (),
    checkpoint: str | Path | None = None,
    *,
    steps: int | None = None,
    progress_bar: bool = True,
) -> Path:
    """Fine-tune a trained bot by RL; return the written ``rl-step-*.safetensors`` checkpoint.

    Starts from ``checkpoint`` or the newest MLE checkpoint of the bot's workspace (the shipped
    model when there is none). Prompts come from the corpus pairs of the training split; rewards
    are judged by a frozen copy of the starting model. Metrics go to ``<workspace>/logs/reinforce``.
    """
    from botframework.bot import Bot

    definition = load_definition(bot_path, overrides)
    refuse_distributed(definition)
    start = load_checkpoint(start_checkpoint(definition, checkpoint))
    bot = Bot(definition, start)
    settings = definition.config.reinforce
    if steps is not None:
        settings = settings.model_copy(update={"steps": steps})
    task = build_task(bot, settings)
    seed = settings.seed if settings.seed is not None else definition.config.training.seed
    if seed is not None:
        pl.seed_everything(seed, verbose=False)
    rewards = definition.config.rewards or list(DEFAULT_REWARDS)
    saved = bot.trained_config.model_copy(update={"reinforce": settings, "rewards": rewards})
    first = start.step if start.path.name.startswith(RL_PREFIX) else 0
    export = RlExport(
        definition.workspace / "checkpoints", saved, bot.tokenizer,
        settings.steps_per_checkpoint, first,
    )
    trainer = build_trainer(definition, settings, export, progress_bar)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*in eval mode at the start of training.*")
        trainer.fit(task, train_dataloaders=prompt_loader(bot, settings))
    if export.written is None:
        raise RuntimeError("reinforcement learning wrote no checkpoint")
    return export.written


def build_task(bot: Bot, settings: ReinforceConfig) -> ReinforceTask:
    """The RL system for ``bot``'s model, its rules checked against the models the bot has."""
    rules = build_reward_rules(bot)
    check_required_models(rules, list(bot.extra_models), str(bot.definition.path))
    scorer = RewardScorer(
        rules,
        copy.deepcopy(bot.model),
        bot.tokenizer,
        bot.trained_config,
        settings.dull_replies,
        bot.extra_models,
    )
    return ReinforceTask(
        bot.model, scorer, bot.tokenizer, bot.trained_config, settings, bot.decoding.max_length
    )


def prompt_loader(bot: Bot, settings: ReinforceConfig) -> DataLoader:
    """Batches of training-split corpus pairs, drawn with replacement, one batch per step."""
    from botframework.data.datamodule import DialogueDataModule
    from botframework.data.prepare import read_conversations

    conversations = read_conversations(bot.definition, bot.parts)
    pairs = DialogueDataModule(bot.config, bot.tokenizer, conversations).train_pairs
    draws = RandomSampler(pairs, replacement=True, num_samples=settings.steps * settings.batch_size)
    return DataLoader(pairs, batch_size=settings.batch_size, sampler=draws, collate_fn=list)


def refuse_distributed(definition: BotDefinition) -> None:
    """Reinforcement learning runs in one process on one device: say so for a DDP set-up."""
    from botframework.config.loader import ConfigError

    training = definition.config.training
    if "ddp" in training.strategy or training.num_nodes > 1 or training.devices not in (1, "1", "auto"):
        raise ConfigError(
            f"{definition.path}: reinforce runs on one device, not with training.strategy "
            f"{training.strategy}, devices {training.devices}, num_nodes {training.num_nodes}; "
            "add --set training.strategy=auto --set training.devices=1 --set training.num_nodes=1"
        )


def build_trainer(
    definition: BotDefinition, settings: ReinforceConfig, export: RlExport, progress_bar: bool
) -> pl.Trainer:
    """One device, ``steps`` steps or ``max_time``, CSV logs in ``<workspace>/logs/reinforce``."""
    return pl.Trainer(
        accelerator=definition.config.training.accelerator,
        devices=1,
        max_steps=settings.steps,
        max_time=settings.max_time,
        logger=CSVLogger(definition.workspace / "logs", name="reinforce"),
        callbacks=[export],
        enable_checkpointing=False,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        log_every_n_steps=min(10, settings.steps),
    )
