"""model.tie_embeddings: one vocabulary table serves as the embedding and the output weight."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from botframework import Bot
from botframework.cli import main
from botframework.config.schema import ModelConfig
from botframework.model.seq2seq import Seq2Seq
from tests.conftest import write_bot_yaml, write_twitter_corpus

pytestmark = pytest.mark.usefixtures("one_thread")

TIED = ["--set", "model.tie_embeddings=true", "--set", "model.embedding_size=64"]


def test_a_tied_model_has_one_table_and_its_state_dict_holds_it_once() -> None:
    config = ModelConfig(embedding_size=16, hidden_size=16, num_layers=1, tie_embeddings=True)
    tied = Seq2Seq(50, config)
    untied = Seq2Seq(50, config.model_copy(update={"tie_embeddings": False}))
    assert tied.output.weight is tied.embedding.weight
    assert "output.weight" not in tied.state_dict() and "embedding.weight" in tied.state_dict()
    counted = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert counted(untied) - counted(tied) == 50 * 16
    again = Seq2Seq(50, config)
    again.load_state_dict(tied.state_dict())  # strict: the missing output weight is the table
    assert again.output.weight is again.embedding.weight
    assert torch.equal(again.output.weight, tied.embedding.weight)


def test_sizes_that_cannot_be_tied_are_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_twitter_corpus(tmp_path / "corpus.txt")
    yaml = write_bot_yaml(tmp_path)
    assert main(["train", str(yaml), "--set", "model.tie_embeddings=true"]) == 2
    error = capsys.readouterr().err.strip()
    assert "tie_embeddings needs embedding_size (32) equal to hidden_size (64)" in error
    assert len(error.splitlines()) == 1 and "Traceback" not in error


def test_a_tied_bot_trains_saves_once_and_answers_after_loading(tmp_path: Path) -> None:
    write_twitter_corpus(tmp_path / "corpus.txt")
    yaml = write_bot_yaml(tmp_path)
    args = ["train", str(yaml), "--no-progress", *TIED, "--set", "training.max_steps=60"]
    assert main(args) == 0
    checkpoint = next((tmp_path / "works/tiny/checkpoints").glob("step-*.safetensors"))
    with safe_open(str(checkpoint), framework="pt") as handle:
        assert "embedding.weight" in handle.keys() and "output.weight" not in handle.keys()
    bot = Bot.load(yaml, checkpoint=checkpoint)
    assert bot.model.output.weight is bot.model.embedding.weight
    assert bot.checkpoint.config.model.tie_embeddings
    reply = bot.reply("how are you?")
    assert reply.strip()
    exported = tmp_path / "exported.safetensors"
    args = ["export", str(yaml), "--checkpoint", str(checkpoint), "--to", str(exported)]
    assert main([*args, "--dtype", "float16"]) == 0
    assert Bot.load(yaml, checkpoint=exported).reply("how are you?") == reply
