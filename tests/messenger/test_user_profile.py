"""The user's first name (``channel.messenger.profile_fields``): fetched once, cached, optional."""

from __future__ import annotations

import asyncio
import logging

from botframework import hookimpl
from botframework.messenger.testing import Failure, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, echo_bot, post_events, wait_for


def get_started(user: str, mid: str) -> dict[str, object]:
    event = text_event(user, "", mid)
    del event["message"]
    event["postback"] = {"mid": mid, "title": "Get Started", "payload": "GET_STARTED"}
    return event


class SeesProfile:
    """A plugin that reads the profile off the conversation."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    @hookimpl
    def answer_without_model(self, message, conversation):
        self.seen.append(dict(conversation.profile))
        return None


async def test_first_name_fetched_once_and_used_in_the_greeting(
    store_url, make_server, graph
) -> None:
    fake = graph[0]
    fake.users["u1"] = {"first_name": "Ana", "last_name": "Secret"}
    plugin = SeesProfile()
    bot = echo_bot(
        plugins=(plugin,),
        greeting="Hi {first_name}, welcome!",
        messenger={"profile_fields": ["first_name"]},
    )
    client = await make_server([bot], store_url=store_url)
    await post_events(client, get_started("u1", "m-start"))
    await wait_for(lambda: len(fake.messages) == 1)
    for index in range(2):
        await post_events(client, text_event("u1", f"hello {index}", f"m-{index}"))
    await wait_for(lambda: len(fake.messages) == 3)
    assert fake.texts()[0] == "Hi Ana, welcome!"
    assert fake.profile_requests == [("u1", "first_name")]
    assert plugin.seen == [{"first_name": "Ana"}] * 2
    await client.close()
    restarted = await make_server([bot], store_url=store_url)  # cached in the store: not asked
    await post_events(restarted, text_event("u1", "back", "m-back"))
    await wait_for(lambda: len(fake.messages) == 4)
    assert fake.profile_requests == [("u1", "first_name")]


async def test_a_failed_fetch_is_logged_and_the_reply_still_goes(make_server, graph, caplog) -> None:
    fake = graph[0]
    fake.users["u2"] = {"first_name": "Bo"}
    fake.user_profile_failures.append(Failure(500, code=2))
    bot = echo_bot(
        greeting="Hi {first_name}, welcome!", messenger={"profile_fields": ["first_name"]}
    )
    client = await make_server([bot])
    with caplog.at_level(logging.WARNING, logger="botframework.messenger.user_profiles"):
        await post_events(client, get_started("u2", "m-start"))
        await wait_for(lambda: len(fake.messages) == 1)
    assert fake.texts() == ["Hi, welcome!"]
    assert "no profile for a user of echo" in caplog.text
    await post_events(client, get_started("u2", "m-again"))  # a transient failure: asked again
    await wait_for(lambda: len(fake.messages) == 2)
    assert fake.texts()[1] == "Hi Bo, welcome!"
    await post_events(client, get_started("u-unknown", "m-unknown"))  # no profile: cached as such
    await post_events(client, get_started("u-unknown", "m-unknown-2"))
    await wait_for(lambda: len(fake.messages) == 4)
    assert [user for user, _ in fake.profile_requests].count("u-unknown") == 1


async def test_no_profile_fields_no_request(make_server, graph) -> None:
    fake = graph[0]
    fake.users["u3"] = {"first_name": "Cy"}
    client = await make_server([echo_bot(greeting="Hi {first_name}!")])
    await post_events(client, get_started("u3", "m-start"))
    await wait_for(lambda: len(fake.messages) == 1)
    await asyncio.sleep(0.1)
    assert fake.texts() == ["Hi!"]
    assert fake.profile_requests == []


async def test_stand_in_checks_the_profile_request(graph) -> None:
    from aiohttp import ClientSession

    from botframework.messenger.signature import appsecret_proof

    fake, url = graph
    fake.users["u4"] = {"first_name": "Di", "last_name": "Ek"}
    auth = {"access_token": PAGE_TOKEN, "appsecret_proof": appsecret_proof(APP_SECRET, PAGE_TOKEN)}
    async with ClientSession() as session:
        no_token = await session.get(f"{url}/u4", params={"fields": "first_name"})
        no_fields = await session.get(f"{url}/u4", params=auth)
        odd_field = await session.get(f"{url}/u4", params={**auth, "fields": "email"})
        good = await session.get(f"{url}/u4", params={**auth, "fields": "first_name"})
        assert (await no_token.json())["error"]["code"] == 190
        assert (no_fields.status, odd_field.status) == (400, 400)
        assert await good.json() == {"first_name": "Di", "id": "u4"}
    assert len(fake.rejected) == 2 and all("fields must name" in r for r in fake.rejected)


async def test_deleting_a_user_deletes_the_cached_profile(tmp_path) -> None:
    from botframework.messenger.sqlite_store import SQLiteStore

    store = SQLiteStore(tmp_path / "messenger.sqlite3")
    try:
        await store.save_user_profile("echo", "u5", {"first_name": "Ed"})
        await store.save_user_profile("other", "u5", {"first_name": "Ed"})
        assert await store.user_profile("echo", "u5") == {"first_name": "Ed"}
        assert await store.delete_user("u5", "echo") == 1
        assert await store.user_profile("echo", "u5") is None
        assert await store.user_profile("other", "u5") == {"first_name": "Ed"}
    finally:
        await store.close()
