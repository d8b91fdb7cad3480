"""The training system: the model plus its loss, optimiser, learning-rate decay and logging."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau

from botframework.config.schema import BotConfig
from botframework.config.storing import settings_to_store
from botframework.data.batch import Batch
from botframework.data.tokenizer import Tokenizer
from botframework.model.sampled_softmax import SampledSoftmaxLoss
from botframework.model.seq2seq import Seq2Seq

_PLATEAU_KEY = "lr_plateau"


class Seq2SeqTask(pl.LightningModule):
    """Trains :class:`Seq2Seq` on :class:`Batch` es.

    Training uses the sampled softmax when ``model.sampled_softmax`` > 0; validation always uses the
    full softmax. Logged: ``train_loss``, ``train_ppl`` (with sampled softmax, of the sampled loss),
    ``val_loss`` and ``val_ppl`` (mean negative log-likelihood per target token, and its exp).
    The learning rate is multiplied by ``training.lr_decay`` when ``val_loss`` has not improved for
    ``training.lr_decay_patience`` validations.
    """

    def __init__(
        self,
        config: BotConfig | Mapping[str, Any],
        vocab_size: int,
        token_counts: list[int] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(config, BotConfig):
            config = BotConfig.model_validate(config)
        # Plain primitives only, so Lightning's .ckpt loads with ``weights_only=True``.
        self.save_hyperparameters(
            {"config": settings_to_store(config), "vocab_size": vocab_size}
        )
        self.config = config
        self.model = Seq2Seq(
            vocab_size, config.model, pad_id=Tokenizer.pad_id, bos_id=Tokenizer.bos_id
        )
        self.training_loss = SampledSoftmaxLoss(
            config.model.sampled_softmax, token_counts, vocab_size
        )
        self.plateau: ReduceLROnPlateau | None = None
        self._plateau_state: dict[str, Any] | None = None
        self._val_nll = torch.zeros(())
        self._val_tokens = torch.zeros(())

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.model(batch.source_ids, batch.source_lengths, batch.target_in)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss = self.batch_loss(batch)
        targets = int(batch.target_lengths.sum())
        self.log("train_loss", loss, prog_bar=True, batch_size=targets)
        self.log("train_ppl", _perplexity(loss.detach()), prog_bar=True, batch_size=targets)
        return loss

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """The mean training loss per target token of ``batch`` (the sampled softmax when
        configured)."""
        features, targets = self.target_features(batch)
        output = self.model.output
        if not self.config.model.source_cache:
            return self.training_loss(features, targets, output.weight, output.bias)
        token_losses = self.training_loss(
            features, targets, output.weight, output.bias, reduction="none"
        )
        return self.with_source_cache(token_losses, batch).mean()

    def on_validation_epoch_start(self) -> None:
        self._val_nll = torch.zeros((), device=self.device)
        self._val_tokens = torch.zeros((), device=self.device)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        features, targets = self.target_features(batch)
        logits = self.model.output(features)
        token_losses = F.cross_entropy(logits.float(), targets, reduction="none")
        self._val_nll += self.with_source_cache(token_losses, batch).sum().detach()
        self._val_tokens += len(targets)

    def on_validation_epoch_end(self) -> None:
        totals = self.trainer.strategy.reduce(
            torch.stack([self._val_nll, self._val_tokens]), reduce_op="sum"
        )
        val_loss = totals[0] / totals[1].clamp(min=1)
        self.log("val_loss", val_loss, prog_bar=True)
        self.log("val_ppl", _perplexity(val_loss), prog_bar=True)
        if self.plateau is not None and not self.trainer.sanity_checking:
            self.plateau.step(float(val_loss))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        training = self.config.training
        # Lightning cannot clip the gradients of a fused optimiser under mixed precision.
        fused = not (training.gradient_clip and str(training.precision).endswith("-mixed"))
        optimizer = build_optimizer(
            self.parameters(), training.optimizer, training.learning_rate, fused=fused
        )
        # Stepped by hand after each validation, which Lightning's plateau handling cannot
        # express when validation runs every N steps across epochs.
        if training.lr_decay < 1.0:
            self.plateau = ReduceLROnPlateau(
                optimizer, mode="min", factor=training.lr_decay, patience=training.lr_decay_patience
            )
            if self._plateau_state is not None:
                self.plateau.load_state_dict(self._plateau_state)
        return optimizer

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.plateau is not None:
            checkpoint[_PLATEAU_KEY] = self.plateau.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning restores the module before it calls configure_optimizers.
        self._plateau_state = checkpoint.get(_PLATEAU_KEY)
        if self.plateau is not None and self._plateau_state is not None:
            self.plateau.load_state_dict(self._plateau_state)

    def target_features(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder features (N, H) and target ids (N,) of the non-padding target positions."""
        features = self.model(batch.source_ids, batch.source_lengths, batch.target_in)
        real = self._real_positions(batch)
        return features[real], batch.target_out[real]

    def with_source_cache(self, token_losses: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The losses (N,) of :meth:`target_features`' targets, recomputed with the model's source
        cache mixed in (unchanged when ``model.source_cache`` is 0)."""
        if not self.config.model.source_cache:
            return token_losses
        real = self._real_positions(batch)
        log_probs = torch.zeros(real.shape, dtype=torch.float32, device=token_losses.device)
        log_probs[real] = -token_losses.float()
        mixed = self.model.with_source_cache(log_probs, batch.source_ids, batch.target_out)
        return -mixed[real]

    @staticmethod
    def _real_positions(batch: Batch) -> torch.Tensor:
        positions = torch.arange(batch.target_out.shape[1], device=batch.target_out.device)
        return positions.unsqueeze(0) < batch.target_lengths.unsqueeze(1)


def build_optimizer(
    parameters: Iterable[torch.nn.Parameter], name: str, learning_rate: float, fused: bool = True
) -> torch.optim.Optimizer:
    """The ``training.optimizer`` by name ("adam" or "sgd"); Adam is fused where supported, unless
    ``fused`` is false."""
    parameters = list(parameters)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate)
    if not fused:
        return torch.optim.Adam(parameters, lr=learning_rate)
    try:
        # The fused kernel updates the large embedding and output tables several times faster.
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    except RuntimeError:
        return torch.optim.Adam(parameters, lr=learning_rate)


def _perplexity(loss: torch.Tensor) -> torch.Tensor:
    # Capped so an untrained model logs a large number instead of inf.
    return torch.exp(loss.clamp(max=math.log(1e30)))
