"""Plugins declare their own YAML settings (``register_settings``) and read them validated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from botframework import Bot
from botframework.bot import LoadedPlugins
from botframework.config import ConfigError, load_definition
from botframework.plugins import build_plugin_manager

GREETER = '''
from pydantic import BaseModel, Field

from botframework import hookimpl


class GreeterSettings(BaseModel):
    text: str = "Hello!"
    times: int = Field(1, ge=1)


@hookimpl
def register_settings(register):
    register("greeter", GreeterSettings)


@hookimpl
def answer_without_model(message, conversation):
    settings = conversation.settings("greeter")
    if message.text == "greet me":
        return " ".join([settings.text] * settings.times)
'''


@pytest.fixture
def greeter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "greeter_plugin.py").write_text(GREETER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "greeter_plugin"
    sys.modules.pop("greeter_plugin", None)


def load(tmp_path: Path, yaml: str) -> LoadedPlugins:
    path = tmp_path / "bot.yaml"
    path.write_text(yaml, encoding="utf-8")
    return LoadedPlugins(load_definition(path))


def test_a_plugin_reads_its_own_validated_section(greeter: str, tiny_bot_yaml: Path) -> None:
    overrides = [f"plugins.load=[{greeter}]", "settings.greeter.text=Howdy"]
    overrides.append("settings.greeter.times=2")
    bot = Bot.load(tiny_bot_yaml, overrides)
    assert bot.settings["greeter"].times == 2
    assert bot.reply("greet me") == "Howdy Howdy"


def test_an_absent_section_gets_the_model_defaults(greeter: str, tmp_path: Path) -> None:
    loaded = load(tmp_path, f"plugins:\n  load: [{greeter}]\n")
    assert loaded.settings["greeter"].text == "Hello!"
    assert loaded.settings["blocklist"].words == []


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("settings:\n  greeter:\n    times: 0\n", r"bot.yaml: settings.greeter.times: expected a number of at least 1, got 0"),
        ("settings:\n  greeter:\n    tmies: 2\n", r"bot.yaml: settings.greeter.tmies: unknown key"),
        ("settings:\n  greeter: 3\n", r"bot.yaml: settings.greeter: expected a mapping, got 3"),
        ("settings:\n  blocklist:\n    words: stupid\n", r"bot.yaml: settings.blocklist.words: expected a list, got \"stupid\""),
        ("settings:\n  greter: {}\n", r"bot.yaml: settings.greter: unknown section; registered sections: blocklist, greeter$"),
    ],
)
def test_bad_settings_fail_at_load_like_the_core_schema(
    greeter: str, tmp_path: Path, yaml: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, f"plugins:\n  load: [{greeter}]\n{yaml}")


def test_settings_errors_never_show_values_from_the_environment(
    greeter: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREETER_TIMES", "s3cret")
    yaml = f"plugins:\n  load: [{greeter}]\nsettings:\n  greeter:\n    times: ${{GREETER_TIMES}}\n"
    with pytest.raises(ConfigError) as error:
        load(tmp_path, yaml)
    assert "settings.greeter.times: expected an integer" in str(error.value)
    assert "s3cret" not in str(error.value)


def test_a_section_of_a_blocked_plugin_is_unknown(tmp_path: Path) -> None:
    yaml = "plugins:\n  block: [pipeline.blocklist]\nsettings:\n  blocklist: {words: [x]}\n"
    with pytest.raises(ConfigError, match=r"settings.blocklist: unknown section; registered sections: \(none\)"):
        load(tmp_path, yaml)


def test_the_blocklist_is_no_longer_a_core_channel_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channel.blocklist: unknown key"):
        load(tmp_path, "channel:\n  blocklist: [stupid]\n")


def test_the_blocklist_vetoes_python_api_replies(tiny_bot_yaml: Path) -> None:
    overrides = ["settings.blocklist.words=[HELLO]", "settings.blocklist.fallback=Shh."]
    bot = Bot.load(tiny_bot_yaml, overrides)
    assert bot.reply("hi") == "Shh."
    assert bot.reply("good night") == "sleep well"


def test_the_plugins_command_lists_settings_sections_and_transports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from botframework.cli import main

    assert main(["plugins"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "settings sections: blocklist, channel.canned, channel.handover" in lines
    assert "transports: aiohttp, pymessenger" in lines
    assert "pipeline.blocklist: postprocess_reply, register_settings" in lines


@pytest.mark.parametrize("name", ["channel.greeting", "channel.a.b"])
def test_a_channel_section_may_not_take_a_core_key(name: str) -> None:
    from pydantic import BaseModel

    from botframework import hookimpl
    from botframework.plugin_settings import collect_settings_models

    class Clash:
        @hookimpl
        def register_settings(self, register) -> None:
            register(name, BaseModel)

    manager = build_plugin_manager(entry_points=False)
    manager.register(Clash())
    with pytest.raises(ConfigError, match=f"settings section '{name}': channel sections are"):
        collect_settings_models(manager.hook)
