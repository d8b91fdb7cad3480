"""Several bots in one server, routed by Page id; the Messenger Profile command."""

from __future__ import annotations

import pytest

from botframework.config.schema import ChannelConfig
from botframework.messenger import ServerSettings, create_app
from botframework.messenger.profile import profile_payload
from botframework.messenger.testing import text_event

from .conftest import PAGE_TOKEN, EchoModel, echo_bot, post_events, post_profile, wait_for


async def test_events_routed_to_the_bot_of_their_page(make_server, graph) -> None:
    first = echo_bot("first", EchoModel(reply=lambda d: "from first"), page_id="1000")
    second = echo_bot(
        "second",
        EchoModel(reply=lambda d: "from second"),
        page_id="2000",
        page_token_env="SECOND_TOKEN",
    )
    client = await make_server([first, second], env={"SECOND_TOKEN": "second-page-token"})
    await post_events(client, text_event("u1", "hi", "m1", page="1000"), page="1000")
    await post_events(client, text_event("u2", "hi", "m2", page="2000"), page="2000")
    await post_events(client, text_event("u3", "hi", "m3", page="3000"), page="3000")
    fake = graph[0]
    await wait_for(lambda: len(fake.messages) == 2)
    sent = {(m.recipient, m.text, m.token) for m in fake.messages}
    assert sent == {("u1", "from first", PAGE_TOKEN), ("u2", "from second", "second-page-token")}
    bots = await (await client.get("/api/bots")).json()
    assert [bot["name"] for bot in bots] == ["first", "second"]
    chat = await (await client.post("/api/chat", json={"text": "x", "bot": "second"})).json()
    assert chat["reply"] == "from second"


def test_several_bots_need_page_ids(tmp_path) -> None:
    settings = ServerSettings(tmp_path)
    with pytest.raises(ValueError, match="page_id"):
        create_app([echo_bot("a"), echo_bot("b")], settings)
    with pytest.raises(ValueError, match="share a name"):
        create_app([echo_bot("a", page_id="1"), echo_bot("a", page_id="2")], settings)


async def test_messenger_profile_sets_get_started_and_greeting(graph) -> None:
    fake, url = graph
    channel = ChannelConfig(greeting="Hello {{user_first_name}}!")
    answer = await post_profile(url, channel)
    assert answer == {"result": "success"}
    assert fake.profiles == [
        {
            "get_started": {"payload": "GET_STARTED"},
            "greeting": [{"locale": "default", "text": "Hello {{user_first_name}}!"}],
        }
    ]
    with pytest.raises(ValueError, match="profile_greeting"):
        profile_payload(ChannelConfig(greeting="x" * 161))
    assert (
        profile_payload(ChannelConfig(greeting="x" * 161, profile_greeting="Hi"))["greeting"][0][
            "text"
        ]
        == "Hi"
    )


def test_messenger_profile_command_dry_run(tmp_path, capsys) -> None:
    from botframework.cli.serve import main

    path = tmp_path / "b.yaml"
    path.write_text("name: b\nchannel:\n  greeting: Hey there\n", encoding="utf-8")
    assert main(["messenger-profile", str(path), "--dry-run"]) == 0
    assert '"text": "Hey there"' in capsys.readouterr().out


async def test_delete_user_and_retry_commands_work_on_the_servers_store(
    store_url, tmp_path, capsys
) -> None:
    import asyncio

    from botframework.cli.serve import main
    from botframework.messenger.store import NewEvent, StoredTurn
    from botframework.messenger.store_url import open_store

    path = tmp_path / "b.yaml"
    path.write_text("name: b\n", encoding="utf-8")
    store = open_store(store_url, tmp_path)
    events = [NewEvent(f"mid:{u}", "b", u, "text", 1, {}, "1000") for u in ("u1", "u2")]
    answered, failed = await store.accept(events)
    await store.finish(answered.id, [StoredTurn("user", "private")])
    await store.finish(failed.id, [], error="rate limited", retryable=True)
    await store.close()
    delete = ["messenger-delete-user", str(path), "u1", "--store", store_url]
    assert await asyncio.to_thread(main, delete) == 0
    assert await asyncio.to_thread(main, ["messenger-retry", str(path), "--store", store_url]) == 0
    assert "1 failed events of b are pending again" in capsys.readouterr().out
    store = open_store(store_url, tmp_path)
    assert await store.recent_turns("b", "u1", 10) == []
    assert [event.key for event in await store.pending()] == ["mid:u2"]
    await store.close()
