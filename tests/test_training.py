"""Training with Lightning: logged losses, learning-rate decay, safetensors export and resuming."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from botframework.checkpoint import load_checkpoint
from botframework.config.loader import BotDefinition
from botframework.config.schema import BotConfig
from botframework.data.batch import collate
from botframework.data.tokenizer import Tokenizer
from botframework.model import Seq2Seq
from botframework.training import SafetensorsExport, Seq2SeqTask, train

VOCAB = 40
Pairs = list[tuple[list[int], list[int]]]


class DigitsTokenizer(Tokenizer):
    """Texts are space-separated ids."""

    name = "digits"

    def __init__(self, size: int = VOCAB) -> None:
        super().__init__()
        self.size = size
        self.token_counts = [0] * 5 + list(range(size - 5, 0, -1))

    def encode(self, text: str) -> list[int]:
        return [int(word) for word in text.split()]

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(str(i) for i in ids)

    @property
    def vocab_size(self) -> int:
        return self.size

    def to_json(self) -> str:
        return json.dumps({"size": self.size})

    @classmethod
    def from_json(cls, text: str) -> DigitsTokenizer:
        return cls(json.loads(text)["size"])


class PairsDataModule(pl.LightningDataModule):
    def __init__(self, train_pairs: Pairs, val_pairs: Pairs, batch_size: int = 8) -> None:
        super().__init__()
        self.train_pairs, self.val_pairs, self.batch_size = train_pairs, val_pairs, batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_pairs, batch_size=self.batch_size, collate_fn=collate)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_pairs, batch_size=self.batch_size, collate_fn=collate)


class StepRecorder(pl.Callback):
    def __init__(self) -> None:
        self.first_step: int | None = None
        self.batches = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.first_step = trainer.global_step

    def on_train_batch_end(self, *args: Any) -> None:
        self.batches += 1


def random_pairs(count: int, seed: int, reply: list[int] | None = None) -> Pairs:
    rng = random.Random(seed)
    return [
        (
            [rng.randrange(5, VOCAB) for _ in range(rng.randint(2, 6))],
            (reply or [rng.randrange(5, VOCAB) for _ in range(rng.randint(1, 5))]) + [2],
        )
        for _ in range(count)
    ]


def make_config(workspace: Path, **training: Any) -> BotConfig:
    return BotConfig.model_validate(
        {
            "name": "tiny",
            "workspace": str(workspace),
            "tokenizer": {"vocab_size": VOCAB},
            "model": {
                "embedding_size": 16,
                "hidden_size": 32,
                "num_layers": 1,
                "dropout": 0.0,
                "sampled_softmax": 10,
            },
            "training": {
                "seed": 3,
                "batch_size": 8,
                "learning_rate": 0.01,
                "steps_per_checkpoint": 2,
                **training,
            },
        }
    )


def quiet_trainer(**options: Any) -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **options,
    )


def test_train_exports_safetensors_and_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    config = make_config(tmp_path / "works")
    definition = BotDefinition(config, tmp_path / "tiny.yaml")
    tokenizer = DigitsTokenizer()
    data = PairsDataModule(random_pairs(24, seed=1), random_pairs(8, seed=2))

    newest = train(definition, tokenizer, data, progress_bar=False, max_steps=5)

    checkpoints = tmp_path / "works" / "checkpoints"
    assert newest == checkpoints / "step-00000005.safetensors"
    assert sorted(p.name for p in checkpoints.glob("*.safetensors")) == [
        "step-00000002.safetensors",
        "step-00000004.safetensors",
        "step-00000005.safetensors",
    ]
    saved = load_checkpoint(newest)
    assert saved.step == 5
    assert saved.config == config
    assert DigitsTokenizer.from_json(saved.tokenizer_json).vocab_size == VOCAB
    Seq2Seq(VOCAB, saved.config.model).load_state_dict(saved.state_dict)
    last = checkpoints / "lightning" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 5
    assert Seq2SeqTask.load_from_checkpoint(last, weights_only=True).config == config
    metrics = next((tmp_path / "works" / "logs").rglob("metrics.csv")).read_text()
    assert "val_loss" in metrics and "train_loss" in metrics

    recorder = StepRecorder()
    newest = train(
        definition, tokenizer, data, extra_callbacks=[recorder], progress_bar=False, max_steps=9
    )

    assert (recorder.first_step, recorder.batches) == (5, 4)
    assert newest == checkpoints / "step-00000009.safetensors"
    assert sorted(p.name for p in checkpoints.glob("*.safetensors")) == [
        "step-00000006.safetensors",
        "step-00000008.safetensors",
        "step-00000009.safetensors",
    ]
    assert load_checkpoint(newest).step == 9


@pytest.mark.parametrize(("source_cache", "sampled_softmax"), [(0.0, 10), (0.3, 0), (0.3, 10)])
def test_validation_logs_token_level_loss_and_perplexity(
    source_cache: float, sampled_softmax: int
) -> None:
    config = make_config(Path("unused"), lr_decay=1.0)
    config.model.source_cache = source_cache
    config.model.sampled_softmax = sampled_softmax
    val_pairs = random_pairs(13, seed=5)
    data = PairsDataModule(random_pairs(16, seed=4), val_pairs, batch_size=5)
    task = Seq2SeqTask(config, VOCAB)
    trainer = quiet_trainer(max_steps=4)
    trainer.fit(task, datamodule=data)
    assert {"train_loss", "train_ppl", "val_loss", "val_ppl"} <= set(trainer.callback_metrics)
    trainer.validate(task, datamodule=data, verbose=False)

    batch = collate(val_pairs)
    task.model.eval()
    with torch.no_grad():
        scores = task.model.sequence_log_probs(
            batch.source_ids, batch.source_lengths, batch.target_out, batch.target_lengths
        )
        training_loss = float(task.batch_loss(batch))
    expected = float(-scores.sum() / batch.target_lengths.sum())
    metrics = trainer.callback_metrics
    assert float(metrics["val_loss"]) == pytest.approx(expected, rel=1e-5)
    assert float(metrics["val_ppl"]) == pytest.approx(math.exp(expected), rel=1e-5)
    if not sampled_softmax:  # the full softmax: training scores the same (mixed) probabilities
        assert training_loss == pytest.approx(expected, rel=1e-5)
    if source_cache:
        config.model.source_cache = 0.0
        plain = Seq2SeqTask(config, VOCAB)
        plain.model.load_state_dict(task.model.state_dict())
        plain.model.eval()
        with torch.no_grad():
            assert float(plain.batch_loss(batch)) != pytest.approx(training_loss, rel=1e-3)


def test_learning_rate_decays_when_validation_loss_stops_improving() -> None:
    # Training replies are always "7 8 7 8", validation replies "9 9 9 9": after the first
    # validation (which sets the best loss) validation only gets worse.
    pl.seed_everything(0, verbose=False)
    config = make_config(Path("unused"), lr_decay=0.5, lr_decay_patience=0, learning_rate=0.05)
    data = PairsDataModule(
        random_pairs(16, seed=6, reply=[7, 8, 7, 8]), random_pairs(8, seed=7, reply=[9, 9, 9, 9])
    )
    task = Seq2SeqTask(config, VOCAB)
    trainer = quiet_trainer(max_steps=6, val_check_interval=2, num_sanity_val_steps=2)
    trainer.fit(task, datamodule=data)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.05 * 0.5**2)

    checkpoint: dict[str, Any] = {}
    task.on_save_checkpoint(checkpoint)
    restored = Seq2SeqTask(config, VOCAB)
    restored.on_load_checkpoint(checkpoint)
    restored.configure_optimizers()
    assert restored.plateau is not None and task.plateau is not None
    assert restored.plateau.best == task.plateau.best


@pytest.mark.parametrize(
    ("name", "kind"), [("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)]
)
def test_optimizer_and_decay_come_from_the_config(name: str, kind: type) -> None:
    config = make_config(Path("unused"), optimizer=name, learning_rate=0.3, lr_decay=0.25)
    task = Seq2SeqTask(config, VOCAB)
    optimizer = task.configure_optimizers()
    assert isinstance(optimizer, kind)
    assert optimizer.param_groups[0]["lr"] == 0.3
    assert task.plateau is not None and task.plateau.factor == 0.25
    assert task.plateau.patience == config.training.lr_decay_patience


def test_export_keeps_the_newest_three(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    export = SafetensorsExport(tmp_path, config, DigitsTokenizer())
    task = Seq2SeqTask(config, VOCAB)

    class FakeTrainer:
        is_global_zero = True
        global_step = 0

    trainer = FakeTrainer()
    for step in (10, 20, 20, 30, 40):
        trainer.global_step = step
        export.export(trainer, task)  # type: ignore[arg-type]
    assert [p.name for p in sorted(tmp_path.glob("*.safetensors"))] == [
        "step-00000020.safetensors",
        "step-00000030.safetensors",
        "step-00000040.safetensors",
    ]
    assert export.newest() == tmp_path / "step-00000040.safetensors"
    with pytest.raises(ValueError, match="keep"):
        SafetensorsExport(tmp_path, config, DigitsTokenizer(), keep=0)


def test_bf16_mixed_precision_trains_with_gradient_clipping(tmp_path: Path) -> None:
    # Lightning refuses to clip a fused optimiser's gradients under mixed precision.
    config = make_config(tmp_path / "works", precision="bf16-mixed", gradient_clip=1.0)
    definition = BotDefinition(config, tmp_path / "tiny.yaml")
    data = PairsDataModule(random_pairs(24, seed=1), random_pairs(8, seed=2))

    newest = train(definition, DigitsTokenizer(), data, progress_bar=False, max_steps=3)

    assert load_checkpoint(newest).step == 3

