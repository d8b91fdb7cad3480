"""A callback that exports the model as a self-contained safetensors checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from botframework.checkpoint import save_checkpoint
from botframework.config.schema import BotConfig
from botframework.data.tokenizer import Tokenizer


class SafetensorsExport(pl.Callback):
    """Writes ``directory/step-XXXXXXXX.safetensors`` whenever Lightning saves a checkpoint, at the
    end of training and when training is interrupted with Ctrl-C, keeping the newest ``keep``.

    The LightningModule must hold the :class:`~botframework.model.Seq2Seq` as ``model``.
    """

    def __init__(
        self, directory: Path, config: BotConfig, tokenizer: Tokenizer, keep: int = 3
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.directory = Path(directory)
        self.config = config
        self.tokenizer = tokenizer
        self.keep = keep
        self.exported_step: int | None = None
        self.checkpointed_step: int | None = None

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.checkpointed_step = trainer.global_step
        self.export(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.export(trainer, pl_module)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        # Ctrl-C should leave a usable model; after a crash the weights may be broken.
        if isinstance(exception, KeyboardInterrupt):
            self.export(trainer, pl_module)

    def export(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> Path | None:
        """Write the model at the current step unless it is written already; the path or None."""
        step = trainer.global_step
        if not trainer.is_global_zero or self.exported_step == step:
            return None
        path = self.directory / f"step-{step:08d}.safetensors"
        save_checkpoint(path, pl_module.model.state_dict(), self.config, self.tokenizer, step)
        self.exported_step = step
        self._remove_old()
        return path

    def newest(self) -> Path | None:
        """The newest exported checkpoint in ``directory``, if any."""
        exported = self._exported()
        return exported[-1] if exported else None

    def _exported(self) -> list[Path]:
        # Zero-padded steps make name order step order.
        return sorted(self.directory.glob("step-*.safetensors"))

    def _remove_old(self) -> None:
        for path in self._exported()[: -self.keep]:
            path.unlink(missing_ok=True)
