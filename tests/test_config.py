"""Bot YAML loading: validation messages, --set overrides, ${ENV} substitution, the shipped bots."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
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
    assert messenger.model_extra == {"token": "secret-value", "url": "http://127.0.0.1"}
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


@contextmanager
def fails_after(seconds: int) -> Iterator[None]:
    """Raise TimeoutError in the test if the block runs longer (a regression must not hang)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """Nine levels of nine aliases: 387 million strings if expanded, under 400 bytes written."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        levels.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    path = write(tmp_path, "\n".join(levels) + "\ncorpus: {options: {bomb: *a8}}\n")
    with fails_after(10), pytest.raises(ConfigError) as error:
        load_definition(path)
    assert str(error.value).startswith(f"{path}: its aliases (*name) would expand it to ")


def test_a_few_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "corpus: {options: &shared {lower: true, words: [a, b, c]}}\n"
        "tokenizer: {options: {<<: *shared, extra: 1}}\n",
    )
    config = load_definition(path).config
    assert config.tokenizer.options == {"lower": True, "words": ["a", "b", "c"], "extra": 1}


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "corpus: {options: &loop {again: *loop}}\n")
    with pytest.raises(ConfigError, match="refers to a node that contains it"):
        load_definition(path)


def test_errors_never_show_values_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_PAGE_ID", "s3cret")
    path = write(
        tmp_path,
        "channel:\n  page_id: ${BOT_PAGE_ID}\n"
        "  messenger: {token: 'x${BOT_PAGE_ID}'}\n  retry_base_delay_s: 2\n  retry_max_delay_s: 1\n",
    )
    with pytest.raises(ConfigError) as error:
        load_definition(path)
    assert "channel.page_id: expected digits only, got " in str(error.value)
    assert "a value from the environment (not shown)" in str(error.value)
    assert "s3cret" not in str(error.value)
    path = write(tmp_path, "channel:\n  messenger: {token: '${BOT_PAGE_ID}'}\n  "
                 "retry_base_delay_s: 2\n  retry_max_delay_s: 1\n")
    with pytest.raises(ConfigError) as error:
        load_definition(path)
    assert "retry_max_delay_s must be at least" in str(error.value)
    assert "s3cret" not in str(error.value)


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
