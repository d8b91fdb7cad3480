"""The Page's profile from the YAML: persistent menu and ice breakers, limits checked at load."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from botframework.config.loader import ConfigError, load_definition

from .conftest import post_profile

MENU_BOT = """\
name: shop
channel:
  greeting: "Hi {first_name}!"
  messenger:
    persistent_menu:
      - {type: postback, title: Opening hours, payload: MENU_HOURS}
      - {type: web_url, title: Our site, url: "https://example.com"}
    ice_breakers:
      - {question: "When are you open?", payload: MENU_HOURS}
"""

MENU = [
    {
        "locale": "default",
        "composer_input_disabled": False,
        "call_to_actions": [
            {"type": "postback", "title": "Opening hours", "payload": "MENU_HOURS"},
            {"type": "web_url", "title": "Our site", "url": "https://example.com"},
        ],
    }
]
ICE_BREAKERS = [
    {
        "locale": "default",
        "call_to_actions": [{"question": "When are you open?", "payload": "MENU_HOURS"}],
    }
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_menu_and_ice_breakers_posted_in_metas_shapes(graph, tmp_path) -> None:
    fake, url = graph
    channel = load_definition(write(tmp_path, MENU_BOT)).config.channel
    answer = await post_profile(url, channel)
    assert answer == {"result": "success"}
    assert fake.rejected == []
    assert fake.profiles == [
        {
            "get_started": {"payload": "GET_STARTED"},
            "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}!"}],
            "persistent_menu": MENU,
            "ice_breakers": ICE_BREAKERS,
        }
    ]


def test_dry_run_prints_the_menu_and_ice_breakers(tmp_path, capsys) -> None:
    from botframework.cli.serve import main

    assert main(["messenger-profile", str(write(tmp_path, MENU_BOT)), "--dry-run"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["persistent_menu"] == MENU
    assert body["ice_breakers"] == ICE_BREAKERS


def test_stand_in_refuses_a_menu_without_get_started() -> None:
    from botframework.messenger.testing_profile import profile_problem

    assert profile_problem({"persistent_menu": MENU}, []) == "persistent_menu needs get_started set"
    too_many = [{**ICE_BREAKERS[0], "call_to_actions": ICE_BREAKERS[0]["call_to_actions"] * 5}]
    assert "1 to 4" in (profile_problem({"ice_breakers": too_many}, []) or "")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "    persistent_menu:\n"
            + "      - {type: postback, title: T, payload: P}\n" * 21,
            "channel.messenger.persistent_menu: at most 20 items allowed, got 21",
        ),
        (
            "    ice_breakers:\n" + "      - {question: Q, payload: P}\n" * 5,
            "channel.messenger.ice_breakers: at most 4 items allowed, got 5",
        ),
        (
            "    persistent_menu:\n      - {type: web_url, title: Site}\n",
            "channel.messenger.persistent_menu.0: value error, a web_url item needs a url",
        ),
        (
            "    persistent_menu:\n      - {type: postback, title: " + "x" * 31 + ", payload: P}\n",
            "channel.messenger.persistent_menu.0.title: expected at most 30 characters",
        ),
        (
            "    profile_fields: [phone_number]\n",
            "channel.messenger.profile_fields.0: expected one of 'first_name'",
        ),
    ],
)
def test_limits_checked_when_the_yaml_loads(tmp_path, section: str, message: str) -> None:
    path = write(tmp_path, f"name: shop\nchannel:\n  messenger:\n{section}")
    with pytest.raises(ConfigError) as caught:
        load_definition(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_bot_breaking_a_limit_does_not_start(tmp_path, capsys) -> None:
    from botframework.cli.serve import main

    path = write(
        tmp_path,
        "name: shop\nchannel:\n  messenger:\n    ice_breakers:\n"
        + "      - {question: Q, payload: P}\n" * 5,
    )
    assert main(["serve", str(path), "--state-dir", os.fspath(tmp_path / "state")]) == 2
    assert "ice_breakers: at most 4 items" in capsys.readouterr().err
