"""The ``handover`` built-in plugin: passing a conversation to a person and staying quiet."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from botframework.bot import LoadedPlugins
from botframework.config import ConfigError, load_definition
from botframework.messenger import keys
from botframework.messenger.testing import postback_event, text_event
from botframework.pipeline import Conversation, IncomingMessage
from botframework_plugins.pipeline import handover

from .conftest import EchoModel, echo_bot, post_events, wait_for

APP_ID = "4242"
INBOX = 263902037430900
HANDOVER = {
    "keywords": ["human", "talk to a person"],
    "payload": "TALK_TO_HUMAN",
    "message": "Connecting you with a person.",
}


def page_bot(model: EchoModel, app_id: str | None = APP_ID, **settings: Any):
    messenger = {"app_id": app_id} if app_id else {}
    return echo_bot(
        model=model, plugins=(handover,), messenger=messenger, handover={**HANDOVER, **settings}
    )


def control_event(user: str, kind: str, **details: Any) -> dict[str, Any]:
    event = text_event(user, "", "unused")
    del event["message"]
    event[kind] = details
    return event


def echo_event(user: str, mid: str, app_id: str | int | None) -> dict[str, Any]:
    message: dict[str, Any] = {"is_echo": True, "mid": mid, "text": "A person here."}
    if app_id is not None:
        message["app_id"] = app_id
    return {"sender": {"id": "1000"}, "recipient": {"id": user}, "timestamp": 1, "message": message}


async def finished(client: TestClient, count: int) -> None:
    """Wait until ``count`` events are done (a message the bot stays silent on is done too)."""
    store = client.server.app[keys.STORE]
    for _ in range(500):
        if (await store.counts())["done"] >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} events done: {await store.counts()}")


async def test_a_keyword_hands_over_and_the_bot_waits_for_control_back(make_server, graph) -> None:
    model, fake = EchoModel(), graph[0]
    client = await make_server([page_bot(model)])
    await post_events(client, text_event("u1", "Can I talk to a PERSON please?", "m1"))
    await wait_for(lambda: len(fake.handovers) == 1)
    assert fake.texts("u1") == ["Connecting you with a person."]
    assert fake.handovers == [
        {"recipient": {"id": "u1"}, "target_app_id": INBOX, "metadata": handover.METADATA}
    ]
    await post_events(client, text_event("u1", "hello?", "m2"))
    await post_events(client, control_event("u1", "pass_thread_control", new_owner_app_id="99"))
    await post_events(client, text_event("u1", "still there?", "m3"))
    await finished(client, 4)
    assert fake.texts("u1") == ["Connecting you with a person."] and model.batches == []
    back = control_event("u1", "pass_thread_control", new_owner_app_id=APP_ID, metadata="Done")
    await post_events(client, back)
    await post_events(client, text_event("u1", "thanks", "m4"))
    await wait_for(lambda: len(fake.messages) == 2)
    assert fake.texts("u1")[-1] == "echo: thanks" and fake.rejected == []


async def test_the_payload_hands_over_and_the_state_survives_a_restart(
    make_server, graph, tmp_path
) -> None:
    state, fake = tmp_path / "state", graph[0]
    first = await make_server([page_bot(EchoModel())], state_dir=state)
    await post_events(first, postback_event("u1", "Talk to a person", "TALK_TO_HUMAN", "m1"))
    await wait_for(lambda: len(fake.handovers) == 1)
    await first.close()
    model = EchoModel()
    second = await make_server([page_bot(model)], state_dir=state)
    await post_events(second, text_event("u1", "anyone?", "m2"))
    await finished(second, 2)
    assert model.batches == [] and len(fake.messages) == 1
    await post_events(second, control_event("u1", "pass_thread_control", new_owner_app_id=APP_ID))
    await post_events(second, text_event("u1", "back", "m3"))
    await wait_for(lambda: len(fake.messages) == 2)
    assert fake.texts("u1")[-1] == "echo: back"


async def test_without_app_id_any_control_passed_back_counts(make_server, graph) -> None:
    client = await make_server([page_bot(EchoModel(), app_id=None)])
    await post_events(client, text_event("u1", "human", "m1"))
    await wait_for(lambda: len(graph[0].handovers) == 1)
    await post_events(client, control_event("u1", "pass_thread_control", new_owner_app_id="77"))
    await post_events(client, text_event("u1", "hi", "m2"))
    await wait_for(lambda: graph[0].texts("u1")[-1:] == ["echo: hi"])


async def test_a_person_replying_from_the_page_pauses_the_bot_for_that_user(
    make_server, graph
) -> None:
    model, fake = EchoModel(), graph[0]
    client = await make_server([page_bot(model, pause_on_human_reply="2h")])
    await post_events(client, echo_event("u1", "e1", APP_ID))  # the bot's own message
    await post_events(client, echo_event("u2", "e2", INBOX))  # a person, in the Page inbox
    await post_events(client, text_event("u1", "one", "m1"), text_event("u2", "two", "m2"))
    await finished(client, 4)
    assert fake.texts("u1") == ["echo: one"] and fake.texts("u2") == []
    assert all(user != "u2" for user, _ in fake.actions)  # no "typing" from a silent bot


async def test_take_and_request_thread_control(make_server, graph) -> None:
    model, fake = EchoModel(), graph[0]
    client = await make_server([page_bot(model)])
    taken = control_event("u1", "take_thread_control", previous_owner_app_id=APP_ID)
    await post_events(client, taken, text_event("u1", "one", "m1"))
    asked = control_event("u2", "request_thread_control", requested_owner_app_id=INBOX)
    other = control_event("u3", "request_thread_control", requested_owner_app_id=555)
    await post_events(client, asked, other, text_event("u2", "two", "m2"))
    await post_events(client, text_event("u3", "three", "m3"))
    await finished(client, 6)
    assert fake.handovers == [
        {"recipient": {"id": "u2"}, "target_app_id": INBOX, "metadata": "requested by the app"}
    ]
    assert fake.texts() == ["echo: three"]


async def test_a_refused_handover_lets_the_bot_answer_again(make_server, graph) -> None:
    from botframework.messenger.testing import Failure

    fake = graph[0]
    fake.handover_failures.append(Failure(400, code=10))  # e.g. not the Primary Receiver
    client = await make_server([page_bot(EchoModel())])
    await post_events(client, text_event("u1", "human!", "m1"))
    await wait_for(lambda: fake.texts("u1") == ["Connecting you with a person."])
    await post_events(client, text_event("u1", "hello?", "m2"))
    await wait_for(lambda: fake.texts("u1")[-1:] == ["echo: hello?"])
    counts = await client.server.app[keys.STORE].counts()
    assert fake.handovers == [] and counts["failed"] == 1


async def test_a_handed_over_user_gets_no_canned_answer_either(make_server, graph) -> None:
    from botframework_plugins.pipeline import canned

    fake, model = graph[0], EchoModel()
    canned_hours = [{"payload": "MENU_HOURS", "text": "9 to 5."}]
    bot = echo_bot(model=model, plugins=(canned, handover), handover=HANDOVER, canned=canned_hours)
    client = await make_server([bot])
    await post_events(client, postback_event("u1", "Hours", "MENU_HOURS", "m1"))
    await wait_for(lambda: fake.texts("u1") == ["9 to 5."])
    await post_events(client, text_event("u1", "human", "m2"))
    await post_events(client, postback_event("u1", "Hours", "MENU_HOURS", "m3"))
    await finished(client, 3)
    assert fake.texts("u1") == ["9 to 5.", "Connecting you with a person."]


async def test_outside_messenger_a_keyword_is_just_a_message(tiny_bot) -> None:
    settings = {**tiny_bot.settings, handover.NAME: handover.HandoverSettings(keywords=["hi"])}
    conversation = Conversation(plugin_settings=settings)
    reply = await tiny_bot.pipeline().handle(IncomingMessage("hi"), conversation)
    assert reply.text == "hello there" and reply.handover is None and conversation.state == {}


async def test_the_stand_in_checks_pass_thread_control_bodies(graph) -> None:
    from botframework.messenger.send_api import AiohttpTransport, GraphApiError, SendApi

    from .conftest import APP_SECRET, PAGE_TOKEN

    api = SendApi(AiohttpTransport(graph[1], app_secret=APP_SECRET))
    try:
        assert await api.pass_thread_control(PAGE_TOKEN, "u1", "263902037430900") == {
            "success": True
        }
        with pytest.raises(GraphApiError, match="code 100"):
            await api.call("/me/pass_thread_control", PAGE_TOKEN, {"target_app_id": 1})
    finally:
        await api.transport.close()
    assert graph[0].handovers == [{"recipient": {"id": "u1"}, "target_app_id": INBOX}]


def load(tmp_path: Path, yaml: str) -> LoadedPlugins:
    path = tmp_path / "bot.yaml"
    path.write_text(yaml, encoding="utf-8")
    return LoadedPlugins(load_definition(path))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('{pause_on_human_reply: "30 minutes"}',
         r'bot.yaml: channel.handover.pause_on_human_reply: value error, expected a duration such as "45s", "30m", "2h" or "1d"'),
        ("{target_app_id: inbox}", r'bot.yaml: channel.handover.target_app_id: expected digits only, got "inbox"'),
        ('{keywords: ["?!"]}', r"bot.yaml: channel.handover.keywords: value error, every keyword needs a letter or digit"),
        ("{keyword: [human]}", r"bot.yaml: channel.handover.keyword: unknown key"),
    ],
)
def test_bad_handover_settings_stop_the_bot_at_load(
    tmp_path: Path, section: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, f"channel:\n  handover: {section}\n")


def test_durations_and_defaults(tmp_path: Path) -> None:
    channel = 'handover: {pause_on_human_reply: "2h"}\n  messenger: {app_id: 12}'
    loaded = load(tmp_path, f"channel:\n  {channel}\n")
    settings = loaded.settings["channel.handover"]
    assert settings.pause_seconds == 7200 and settings.target_app_id == "263902037430900"
    assert loaded.config.channel.messenger.app_id == "12"
