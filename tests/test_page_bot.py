"""``bots/page.yaml``, the README's complete Page bot: it loads, its plugin sections checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from botframework.bot import LoadedPlugins
from botframework.config import load_definition

REPO = Path(__file__).resolve().parents[1]
PAGE_BOT = REPO / "bots" / "page.yaml"


def test_the_readme_shows_the_page_bot_as_it_is() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"```yaml\n{PAGE_BOT.read_text(encoding='utf-8')}```" in readme


def test_the_page_bot_loads_with_its_canned_answers_and_handover(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESSENGER_APP_ID", "4242")
    loaded = LoadedPlugins(load_definition(PAGE_BOT))
    channel = loaded.config.channel
    assert channel.messenger.app_id == "4242" and channel.suggestions == 3
    assert len(loaded.settings["channel.canned"].root) == 4
    assert loaded.settings["channel.handover"].pause_seconds == 1800
    assert len(channel.messenger.persistent_menu) == 4
