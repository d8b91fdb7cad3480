"""The plugin core: entry points, local import paths, blocking, name lookup, documented hooks."""

from __future__ import annotations

import ast
import inspect
import re
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


def documentation_problems(hook: object) -> list[str]:
    """What a hook spec's docstring fails to say: when it runs, every parameter, what it returns,
    and (exactly for first-result hooks) that it stops at the first non-None result."""
    doc = inspect.getdoc(hook) or ""
    spec = getattr(hook, f"{hookspecs.PROJECT_NAME}_spec")
    problems = [] if doc.split(".")[0].strip() else ["no summary"]
    problems += [] if re.search(r"^\s*Called\b|\. Called\b", doc, re.M) else ["when it is called"]
    problems += [] if re.search(r"\bReturns?\b", doc) else ["what it returns"]
    for name in inspect.signature(hook).parameters:
        if not re.search(rf"^:param {name}: \S", doc, re.M):
            problems.append(f":param {name}:")
    stops = "stops at the first non-None result" in doc
    if stops != bool(spec["firstresult"]):
        problems.append("whether it stops at the first non-None result")
    return problems


def hook_specs() -> dict[str, object]:
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT_NAME}_spec")
    }


def test_every_hook_is_documented() -> None:
    specs = hook_specs()
    assert len(specs) >= 13
    for name, hook in specs.items():
        assert documentation_problems(hook) == [], f"hook {name}'s docstring lacks these"


def test_the_documentation_check_finds_what_is_missing() -> None:
    @hookspecs.hookspec(firstresult=True)
    def vague(message, conversation) -> None:
        """Do something.

        :param message: the message.
        """

    assert documentation_problems(vague) == [
        "when it is called",
        "what it returns",
        ":param conversation:",
        "whether it stops at the first non-None result",
    ]


def botframework_imports(source: str) -> list[tuple[str, list[str]]]:
    """Every import of botframework or a module of it: (module, names imported from it)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "botframework"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "botframework":
            found.append((node.module, [a.name for a in node.names]))
    return found


def test_every_builtin_plugin_uses_only_the_public_api() -> None:
    import botframework

    public = set(botframework.__all__)
    root = Path(__file__).resolve().parent.parent / "plugins"
    for module in BUILTIN_PLUGINS.values():
        source = (root / Path(*module.split(".")[1:])).with_suffix(".py").read_text()
        for imported, names in botframework_imports(source):
            assert imported == "botframework", (module, imported)
            assert set(names) <= public, (module, sorted(set(names) - public))


def test_the_import_check_sees_parenthesised_and_nested_imports() -> None:
    source = (
        "from botframework import (\n    Tokenizer,\n    hookimpl,\n)\n"
        "def f():\n    from botframework.bot import Bot\n    import botframework.text\n"
    )
    assert botframework_imports(source) == [
        ("botframework", ["Tokenizer", "hookimpl"]),
        ("botframework.bot", ["Bot"]),
        ("botframework.text", []),
    ]


COMMAND_PLUGIN = '''
from botframework import hookimpl


def shout(args):
    print(args.text.upper())
    return 3


@hookimpl
def register_commands(subparsers):
    parser = subparsers.add_parser("shout", help="print TEXT in capitals")
    parser.add_argument("text")
    parser.set_defaults(handler=shout)
'''


def test_an_installed_plugin_adds_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botframework.cli import main

    install_plugin(tmp_path, "shout_command", COMMAND_PLUGIN, "shout-command")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main(["shout", "hello"]) == 3
        assert capsys.readouterr().out == "HELLO\n"
        with pytest.raises(SystemExit):
            main(["--help"])
        assert "print TEXT in capitals" in capsys.readouterr().out
    finally:
        sys.modules.pop("shout_command", None)
