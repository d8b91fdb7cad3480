"""Bot YAML loading: validation messages, --set overrides, ${ENV} substitution, the shipped bots."""

from __future__ import annotations

from pathlib import Path

import pytest

from botframework.config import ConfigError, load_definition

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "x.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_error_names_file_key_and_expectation(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  num_layers: two\n")
    with pytest.raises(ConfigError) as error:
        load_definition(path)
    assert str(error.value) == f'{path}: model.num_layers: expected an integer, got "two"'


def test_non_positive_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  num_layers: 0\n  colour: red\n")
    with pytest.raises(ConfigError) as error:
        load_definition(path)
    message = str(error.value)
    assert f"{path}: model.num_layers: expected a number greater than 0, got 0" in message
    assert f"{path}: model.colour: unknown key" in message


def test_literal_choices_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  cell: rnn\n")
    with pytest.raises(ConfigError, match=r"model.cell: expected one of 'gru' or 'lstm', got \"rnn\""):
        load_definition(path)


def test_defaults_and_name_from_file(tmp_path: Path) -> None:
    definition = load_definition(write(tmp_path, "{}\n", "mybot.yaml"))
    assert definition.config.name == "mybot"
    assert definition.workspace == Path("works") / "mybot"
    assert definition.shipped_dir == tmp_path / "mybot"
    assert definition.config.decoding.decoder.name == "greedy"


def test_set_overrides_values_lists_and_new_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "decoding:\n  rescorers:\n    - name: length_bonus\n      weight: 0.1\n",
    )
    definition = load_definition(
        path,
        [
            "training.batch_size=32",
            "model.reverse_source=false",
            "decoding.rescorers.0.weight=0.5",
            "decoding.decoder.name=beam",
            "decoding.decoder.beam_size=4",
        ],
    )
    config = definition.config
    assert config.training.batch_size == 32
    assert config.model.reverse_source is False
    assert config.decoding.rescorers[0].args == {"weight": 0.5}
    assert config.decoding.decoder.name == "beam"
    assert config.decoding.decoder.args == {"beam_size": 4}


def test_bad_set_syntax_and_bad_value(tmp_path: Path) -> None:
    path = write(tmp_path, "{}\n")
    with pytest.raises(ConfigError, match="expected KEY.PATH=VALUE"):
        load_definition(path, ["training.batch_size"])
    with pytest.raises(ConfigError, match="training.batch_size: expected an integer"):
        load_definition(path, ["training.batch_size=many"])
    with pytest.raises(ConfigError, match="training.nonsense: unknown key"):
        load_definition(path, ["training.nonsense=1"])


def test_environment_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        "channel:\n  messenger:\n    token: ${BF_TEST_TOKEN}\n    url: ${BF_TEST_URL:-http://127.0.0.1}\n",
    )
    monkeypatch.setenv("BF_TEST_TOKEN", "secret-value")
    messenger = load_definition(path).config.channel.messenger
    assert messenger == {"token": "secret-value", "url": "http://127.0.0.1"}
    monkeypatch.delenv("BF_TEST_TOKEN")
    with pytest.raises(ConfigError, match="channel.messenger.token: environment variable BF_TEST_TOKEN"):
        load_definition(path)


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such bot definition"):
        load_definition(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_definition(write(tmp_path, "- a\n- b\n"))


@pytest.mark.parametrize("name", ["chitchat", "twitter"])
def test_shipped_bots_load(name: str) -> None:
    definition = load_definition(REPO / "bots" / f"{name}.yaml")
    assert definition.config.name == name


def test_a_checkpoints_config_with_keys_since_moved_to_a_plugin_still_loads() -> None:
    from botframework.config.schema import BotConfig, stored_config

    stored = BotConfig(name="old").model_dump()
    stored["channel"]["blocklist"] = ["rude"]  # the core schema's key before settings.blocklist
    stored["channel"]["blocklist_fallback"] = "Let's talk about something else."
    config = stored_config(stored)
    assert config == BotConfig(name="old") and stored["channel"]["blocklist"] == ["rude"]
    stored["model"]["hidden_size"] = "big"
    with pytest.raises(ValueError, match="hidden_size"):
        stored_config(stored)
