"""The plugin core: entry points, local import paths, blocking, name lookup, documented hooks."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from botframework import hookspecs
from botframework.bot import LoadedPlugins
from botframework.config import ConfigError, load_definition
from botframework.plugins import BUILTIN_PLUGINS, build_plugin_manager, collect_parts
from tests.conftest import install_plugin

PLUGIN_SOURCE = '''
from botframework import StepRescorer, hookimpl


class ShoutBonus(StepRescorer):
    """Adds ``weight`` to every token's log-probability (a third-party rescorer)."""

    def __init__(self, weight: float = 1.0) -> None:
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        self.weight = weight

    def __call__(self, ctx, prefixes, log_probs):
        return log_probs + self.weight


@hookimpl
def register_rescorers(register):
    register("shout_bonus", ShoutBonus)


@hookimpl
def answer_without_model(message, conversation):
    if message.text == "!ping":
        return "pong"
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real distribution on sys.path whose entry point in group 'botframework' names a module."""
    install_plugin(tmp_path, "shout_plugin", PLUGIN_SOURCE, "shout")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "shout"
    sys.modules.pop("shout_plugin", None)


def test_entry_point_plugin_is_registered_and_its_hooks_used(installed_plugin: str) -> None:
    from botframework import Conversation, IncomingMessage

    manager = build_plugin_manager()
    assert manager.has_plugin(installed_plugin)
    assert "shout_bonus" in collect_parts(manager).rescorers.factories
    answer = manager.hook.answer_without_model
    assert answer(message=IncomingMessage("!ping"), conversation=Conversation()) == "pong"
    assert answer(message=IncomingMessage("hello"), conversation=Conversation()) is None


def test_builtin_plugins_register_their_parts() -> None:
    parts = collect_parts(build_plugin_manager(entry_points=False))
    assert {"word", "subword", "jieba"} <= set(parts.tokenizers.factories)
    assert {"twitter", "chitchat", "pairs"} <= set(parts.corpus_readers.factories)
    assert "greedy" in parts.decoders.factories


def test_blocked_builtin_is_not_registered() -> None:
    manager = build_plugin_manager(block=["decoders.greedy"], entry_points=False)
    assert "greedy" not in collect_parts(manager).decoders.factories


def test_unknown_blocked_plugin_lists_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown plugin 'nope'; registered plugins: .*decoders.greedy"):
        build_plugin_manager(block=["nope"], entry_points=False)


def test_local_plugin_by_import_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "local_shout.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yaml = tmp_path / "bot.yaml"
    yaml.write_text(
        "plugins:\n  load: [local_shout]\n"
        "decoding:\n  rescorers:\n    - name: shout_bonus\n      weight: 2\n"
    )
    loaded = LoadedPlugins(load_definition(yaml))
    decoding = loaded.build_decoding(loaded.config)
    assert [r.name for r in decoding.step_rescorers] == ["shout_bonus"]
    assert decoding.step_rescorers[0].weight == 2
    sys.modules.pop("local_shout", None)


def test_unimportable_local_plugin(tmp_path: Path) -> None:
    yaml = tmp_path / "bot.yaml"
    yaml.write_text("plugins:\n  load: [no_such_module_here]\n")
    with pytest.raises(ConfigError, match="cannot import plugin 'no_such_module_here'"):
        LoadedPlugins(load_definition(yaml))


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("decoding:\n  decoder: nosuch\n", r"decoding.decoder: unknown decoder 'nosuch'; registered decoders: .*greedy"),
        ("decoding:\n  rescorers: [nosuch]\n", r"decoding.rescorers.0: unknown rescorer 'nosuch'; registered rescorers: "),
        ("tokenizer:\n  name: nosuch\n", r"tokenizer.name: unknown tokenizer 'nosuch'; registered tokenizers: .*word"),
        ("corpus:\n  reader: nosuch\n", r"corpus.reader: unknown corpus reader 'nosuch'; registered corpus readers: .*twitter"),
        ("rewards:\n  - name: nosuch\n    weight: 1\n", r"rewards.0: unknown reward rule 'nosuch'"),
        ("decoding:\n  decoder: {name: greedy, max_length: -3}\n", r"decoding.decoder: decoder 'greedy': max_length must be a positive integer"),
    ],
)
def test_unknown_or_bad_part_fails_at_load(tmp_path: Path, yaml: str, message: str) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(yaml)
    with pytest.raises(ConfigError, match=message):
        LoadedPlugins(load_definition(path))


def test_third_party_rescorer_argument_error_is_precise(installed_plugin: str, tmp_path: Path) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text("decoding:\n  rescorers:\n    - name: shout_bonus\n      weight: -1\n")
    with pytest.raises(ConfigError, match=r"decoding.rescorers.0: rescorer 'shout_bonus': weight must be >= 0, got -1"):
        LoadedPlugins(load_definition(path))


def test_every_hook_is_documented_and_exported() -> None:
    specs = [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, "botframework_spec")
    ]
    assert len(specs) >= 10
    for name in specs:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and "Called" in doc, f"hook {name} lacks a docstring saying when it is called"


def test_every_builtin_plugin_uses_only_the_public_api() -> None:
    import botframework

    public = set(botframework.__all__)
    root = Path(__file__).resolve().parent.parent / "plugins"
    for module in BUILTIN_PLUGINS.values():
        source = (root / Path(*module.split(".")[1:])).with_suffix(".py").read_text()
        for line in source.splitlines():
            if line.startswith("from botframework import"):
                names = line.split("import", 1)[1].replace("(", "").replace(")", "")
                assert {n.strip() for n in names.split(",") if n.strip()} <= public, line
            else:
                assert not line.startswith(("from botframework.", "import botframework")), (module, line)
