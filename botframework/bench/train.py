"""Training throughput: full vs sampled softmax, and the Lightning loop vs a plain PyTorch loop.

Throughput is target tokens per second of forward, backward, gradient clipping and optimiser step
on synthetic random batches, for the model section of a bot YAML at several vocabulary sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from botframework.config.schema import BotConfig
from botframework.data.batch import Batch, collate
from botframework.training.task import Seq2SeqTask, build_optimizer

#: The floors the benchmark reports against (stretch goals, not assertions).
SAMPLED_SPEEDUP_FLOOR = 4.0
LIGHTNING_RATIO_FLOOR = 0.8


@dataclass(frozen=True)
class Workload:
    """What one measurement trains: a model section, its vocabulary, batches and step counts."""

    config: BotConfig
    vocab_size: int
    batches: list[Batch]
    steps: int
    warmup: int
    device: torch.device

    def schedule(self) -> list[Batch]:
        """The batches of every step in order, the ``warmup`` untimed ones first."""
        count = self.warmup + self.steps
        return [self.batches[index % len(self.batches)] for index in range(count)]


def run_train_benchmark(
    config: BotConfig,
    vocab_sizes: Sequence[int] = (20000, 60000),
    *,
    steps: int = 10,
    warmup: int = 3,
    rounds: int = 2,
    batch_size: int = 64,
    num_samples: int = 512,
    lengths: tuple[int, int] = (10, 20),
    seed: int = 0,
) -> dict[str, Any]:
    """Measure and return (as a JSON-ready dict) tokens/s for every vocabulary size.

    Each number is the best of ``rounds`` runs of ``warmup`` untimed and ``steps`` timed steps.
    """
    device = _device(config)
    results: dict[str, Any] = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "hidden_size": config.model.hidden_size,
        "num_layers": config.model.num_layers,
        "cell": config.model.cell,
        "attention": config.model.attention,
        "timed_steps": steps,
        "rounds": rounds,
        "tokens_per_second": {},
    }
    for vocab_size in vocab_sizes:
        batches = synthetic_batches(vocab_size, batch_size, lengths, count=4, seed=seed)
        full, sampled = (
            Workload(_with_samples(config, samples), vocab_size, batches, steps, warmup, device)
            for samples in (0, num_samples)
        )
        measurements: dict[str, tuple[Callable[[Workload], float], Workload]] = {
            "plain_full_softmax": (plain_loop, full),
            f"plain_sampled_{num_samples}": (plain_loop, sampled),
            f"lightning_sampled_{num_samples}": (lightning_loop, sampled),
        }
        row = {name: 0.0 for name in measurements}
        # Best of interleaved rounds: other work on the machine only ever slows a run down.
        for _ in range(rounds):
            for name, (measure, workload) in measurements.items():
                row[name] = max(row[name], measure(workload))
        row["sampled_speedup"] = row[f"plain_sampled_{num_samples}"] / row["plain_full_softmax"]
        row["lightning_vs_plain"] = (
            row[f"lightning_sampled_{num_samples}"] / row[f"plain_sampled_{num_samples}"]
        )
        results["tokens_per_second"][str(vocab_size)] = {k: round(v, 2) for k, v in row.items()}
    results["goals"] = _goals(results["tokens_per_second"])
    return results


def synthetic_batches(
    vocab_size: int, batch_size: int, lengths: tuple[int, int], count: int, seed: int
) -> list[Batch]:
    """``count`` batches of random ids (never the special ids 0-4), lengths uniform in range."""
    generator = torch.Generator().manual_seed(seed)

    def sequence(end: list[int]) -> list[int]:
        size = int(torch.randint(lengths[0], lengths[1] + 1, (), generator=generator))
        return torch.randint(5, vocab_size, (size - len(end),), generator=generator).tolist() + end

    return [
        collate([(sequence([]), sequence([2])) for _ in range(batch_size)]) for _ in range(count)
    ]


def plain_loop(work: Workload) -> float:
    """Tokens/s of a hand-written loop doing what :class:`Seq2SeqTask` does in training."""
    torch.manual_seed(0)
    task = Seq2SeqTask(work.config, work.vocab_size).to(work.device)
    training = work.config.training
    optimizer = build_optimizer(task.parameters(), training.optimizer, training.learning_rate)
    tokens, started = 0, 0.0
    for index, batch in enumerate(work.schedule()):
        if index == work.warmup:
            _synchronize(work.device)
            started = time.perf_counter()
        batch = batch.to(work.device)
        features, targets = task.target_features(batch)
        output = task.model.output
        loss = task.training_loss(features, targets, output.weight, output.bias)
        optimizer.zero_grad()
        loss.backward()
        if training.gradient_clip:
            torch.nn.utils.clip_grad_norm_(task.parameters(), training.gradient_clip)
        optimizer.step()
        if index >= work.warmup:
            tokens += int(batch.target_lengths.sum())
    _synchronize(work.device)
    return tokens / (time.perf_counter() - started)


def lightning_loop(work: Workload) -> float:
    """Tokens/s of ``Trainer.fit`` on :class:`Seq2SeqTask`, timed after ``warmup`` steps."""
    torch.manual_seed(0)
    timer = _StepTimer(work.warmup, work.device)
    trainer = pl.Trainer(
        accelerator=work.device.type,
        devices=1,
        max_steps=work.warmup + work.steps,
        gradient_clip_val=work.config.training.gradient_clip or None,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[timer],
    )
    loader = DataLoader(work.schedule(), batch_size=None, shuffle=False)
    trainer.fit(Seq2SeqTask(work.config, work.vocab_size), train_dataloaders=loader)
    return timer.tokens / timer.seconds


class _StepTimer(pl.Callback):
    """Counts target tokens and wall time of the training batches after the warm-up."""

    def __init__(self, warmup: int, device: torch.device) -> None:
        self.warmup = warmup
        self.device = device
        self.tokens = 0
        self.started: float | None = None
        self.seconds = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.warmup and self.started is None:
            _synchronize(self.device)
            self.started = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        module: pl.LightningModule,
        outputs: Any,
        batch: Batch,
        *args: Any,
    ) -> None:
        if self.started is not None:
            _synchronize(self.device)
            self.tokens += int(batch.target_lengths.sum())
            self.seconds = time.perf_counter() - self.started


def _with_samples(config: BotConfig, num_samples: int) -> BotConfig:
    return config.model_copy(
        update={"model": config.model.model_copy(update={"sampled_softmax": num_samples})}
    )


def _device(config: BotConfig) -> torch.device:
    wants_gpu = config.training.accelerator in ("auto", "gpu", "cuda")
    return torch.device("cuda" if wants_gpu and torch.cuda.is_available() else "cpu")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _goals(rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    largest = rows[max(rows, key=int)]
    ratios = [row["lightning_vs_plain"] for row in rows.values()]
    return {
        "sampled_speedup_at_largest_vocab": {
            "value": largest["sampled_speedup"],
            "floor": SAMPLED_SPEEDUP_FLOOR,
            "met": largest["sampled_speedup"] >= SAMPLED_SPEEDUP_FLOOR,
        },
        "lightning_vs_plain_worst": {
            "value": min(ratios),
            "floor": LIGHTNING_RATIO_FLOOR,
            "met": min(ratios) >= LIGHTNING_RATIO_FLOOR,
        },
    }
