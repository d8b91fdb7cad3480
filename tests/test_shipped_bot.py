"""The default bot as a fresh clone has it: the shipped models load without training and answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from botframework import Bot
from botframework.data.tokenizer import SPECIAL_TOKENS

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "bots" / "chitchat"

pytestmark = pytest.mark.usefixtures("one_thread")


def test_shipped_weights_are_float16_and_fit_the_size_budget() -> None:
    for path in (SHIPPED / "model.safetensors", SHIPPED / "reverse" / "model.safetensors"):
        assert path.stat().st_size <= 40 * 2**20, path
        with safe_open(path, "pt") as weights:
            dtypes = {weights.get_tensor(name).dtype for name in weights.keys()}
        assert dtypes == {torch.float16}, path


def test_the_default_bot_answers_with_its_shipped_models(tmp_path: Path) -> None:
    bot = Bot.load(REPO / "bots" / "chitchat.yaml", [f"workspace={tmp_path}"])
    assert bot.checkpoint.path == SHIPPED / "model.safetensors"
    assert "reverse" in bot.extra_models  # the backward model for MMI-bidi and RL coherence
    # The YAML describes the shipped model, its source cache included.
    assert bot.model.config == bot.config.model.model_copy(update={"sampled_softmax": 0})
    prompts = ["hi", "how are you?", "what do you do for fun?", "i love pizza"]
    replies = [bot.reply(prompt) for prompt in prompts]
    assert all(reply and reply.strip() for reply in replies), replies
    assert not any(token in reply for reply in replies for token in SPECIAL_TOKENS), replies
