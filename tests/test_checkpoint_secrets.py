"""Values a bot YAML takes from the environment (``${VAR}``) never reach the files training writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from botframework.checkpoint import load_checkpoint
from botframework.config.loader import load_definition
from botframework.config.storing import FROM_ENVIRONMENT
from botframework.training import train
from tests.test_training import DigitsTokenizer, PairsDataModule, make_config, random_pairs

SECRET = "424242424242"  # an app id: digits only


def test_training_writes_no_value_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINY_APP_ID", SECRET)
    monkeypatch.setenv("TINY_HIDDEN", "32")
    settings = make_config(tmp_path / "works").model_dump(mode="json")
    settings["description"] = "a tiny bot for page ${TINY_APP_ID}"
    settings["model"]["hidden_size"] = "${TINY_HIDDEN}"
    settings["channel"] = {"greeting": "Hi", "messenger": {"app_id": "${TINY_APP_ID}"}}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(settings))
    definition = load_definition(path)
    assert definition.config.channel.messenger.app_id == SECRET

    newest = train(
        definition,
        DigitsTokenizer(),
        PairsDataModule(random_pairs(24, seed=1), random_pairs(8, seed=2)),
        progress_bar=False,
        max_steps=2,
    )

    written = [p for p in (tmp_path / "works").rglob("*") if p.is_file()]
    assert any(p.name == "hparams.yaml" for p in written) and any(p.suffix == ".ckpt" for p in written)
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []
    stored = load_checkpoint(newest).config
    assert stored.description == FROM_ENVIRONMENT
    assert stored.channel.messenger.app_id is None
    assert stored.model == definition.config.model  # the model's own settings are kept as trained
