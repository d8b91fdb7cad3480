"""The ``canned`` built-in plugin: answers from ``channel.canned`` without the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from botframework.bot import LoadedPlugins
from botframework.config import ConfigError, load_definition
from botframework.messenger.testing import postback_event, quick_reply_event, text_event
from botframework_plugins.pipeline import canned

from .conftest import EchoModel, echo_bot, post_events, wait_for

CANNED = [
    {
        "payload": "MENU_HOURS",
        "text": "We are open 9 to 5.",
        "quick_replies": [{"title": "Address", "payload": "MENU_ADDRESS"}],
    },
    {"match": ["opening hours", "when are you open"], "text": "We are open 9 to 5."},
    {
        "payload": "MENU_ADDRESS",
        "text": "1 Main St.",
        "buttons": [{"type": "web_url", "title": "Map", "url": "https://example.com/map"}],
    },
    {"payload": "MENU_PHOTO", "image": "https://example.com/shop.jpg"},
]
HOURS_WITH_ADDRESS = {
    "text": "We are open 9 to 5.",
    "quick_replies": [{"content_type": "text", "title": "Address", "payload": "MENU_ADDRESS"}],
}
MAP_BUTTON = {"type": "web_url", "title": "Map", "url": "https://example.com/map"}


async def test_a_postback_a_quick_reply_and_a_message_get_their_canned_replies(
    make_server, graph
) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model, plugins=(canned,), canned=CANNED)])
    fake = graph[0]
    await post_events(client, postback_event("u1", "Opening hours", "MENU_HOURS", "m1"))
    await wait_for(lambda: len(fake.messages) == 1)
    await post_events(client, quick_reply_event("u1", "Address", "MENU_ADDRESS", "m2"))
    await wait_for(lambda: len(fake.messages) == 2)
    await post_events(client, text_event("u1", "Hi! When are YOU open, today?", "m3"))
    await post_events(client, postback_event("u1", "Photo", "MENU_PHOTO", "m4"))
    await wait_for(lambda: len(fake.messages) == 4)
    hours, address, matched, photo = (m.message for m in fake.messages)
    assert hours == HOURS_WITH_ADDRESS
    assert address["attachment"]["payload"] == {
        "template_type": "button",
        "text": "1 Main St.",
        "buttons": [MAP_BUTTON],
    }
    assert matched == {"text": "We are open 9 to 5."}
    assert photo["attachment"] == {
        "type": "image",
        "payload": {"url": "https://example.com/shop.jpg", "is_reusable": True},
    }
    assert model.batches == [] and fake.rejected == []


async def test_other_messages_and_phrases_inside_words_go_to_the_model(make_server, graph) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model, plugins=(canned,), canned=CANNED)])
    await post_events(client, text_event("u1", "reopening hours?", "m1"))
    await wait_for(lambda: len(graph[0].messages) == 1)
    assert graph[0].texts() == ["echo: reopening hours?"]


def load(tmp_path: Path, yaml: str) -> LoadedPlugins:
    path = tmp_path / "bot.yaml"
    path.write_text(yaml, encoding="utf-8")
    return LoadedPlugins(load_definition(path))


def test_the_yaml_section_is_validated_when_the_bot_loads(tmp_path: Path) -> None:
    entry = "{payload: P, text: Hi, quick_replies: [{title: A, payload: B}]}"
    yaml = f"channel:\n  canned:\n    - {entry}\n"
    entries = load(tmp_path, yaml).settings["channel.canned"].root
    assert entries[0].reply().quick_replies[0].payload == "B"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{payload: P, text: Hi, quick_replies: [{title: Twenty one characters, payload: A}]}",
         r"bot.yaml: channel.canned.0.quick_replies.0: value error, a quick reply title must be 1 to 20 characters"),
        ("{payload: P, text: Hi, buttons: [{title: a, payload: A}, {title: b, payload: B}, {title: c, payload: C}, {title: d, payload: D}]}",
         r"bot.yaml: channel.canned.0: value error, at most 3 buttons in a button template are allowed, got 4"),
        ("{payload: P, text: Hi, buttons: [{type: web_url, title: Map, url: example.com}]}",
         r"bot.yaml: channel.canned.0.buttons.0: value error, a web_url button url must be an http\(s\) URL"),
        ("{payload: P, image: ftp://example.com/a.jpg}",
         r"bot.yaml: channel.canned.0: value error, the image url must be an http\(s\) URL"),
        ("{text: Hi}", r"bot.yaml: channel.canned.0: value error, a canned answer needs a payload or match"),
        ("{payload: P}", r"bot.yaml: channel.canned.0: value error, a canned answer needs a text or an image"),
        ("{payload: P, text: Hi, colour: red}", r"bot.yaml: channel.canned.0.colour: unknown key"),
    ],
)
def test_a_canned_answer_breaking_a_limit_stops_the_bot_at_load(
    tmp_path: Path, entry: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, f"channel:\n  canned:\n    - {entry}\n")


def test_a_channel_key_no_plugin_declares_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"bot.yaml: channel.caned: unknown key"):
        load(tmp_path, "channel:\n  caned: []\n")
