"""Training: the Lightning system, the Trainer that runs it and the checkpoint export."""

from botframework.training.export import SafetensorsExport
from botframework.training.task import Seq2SeqTask
from botframework.training.trainer import build_trainer, train

__all__ = ["SafetensorsExport", "Seq2SeqTask", "build_trainer", "train"]
