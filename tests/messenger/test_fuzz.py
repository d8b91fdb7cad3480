"""Signed random and adversarial bodies, posted together with good messages to a real server.

Whatever arrives, the server answers below 500; a good message in a body it accepted (200) is
answered exactly once, one in a body it refused (4xx) not at all, whatever else shares the write.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import string
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from botframework.messenger.testing import signed, text_event

from .conftest import APP_SECRET, wait_for

PAGE = "1000"
_users = itertools.count()

#: Any character, lone surrogates included (hypothesis leaves those out of text by default).
any_char = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
any_text = st.text(any_char, max_size=12)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: beyond 64 bits too
    st.floats(),  # NaN and infinities too
    any_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=12,
)
#: Number literals ``json.dumps`` never writes; placed in a body through a marker string.
odd_numbers = st.sampled_from(["1e400", "-1e400", "Infinity", "-Infinity", "NaN", "9" * 40])
odd_or_any = st.one_of(odd_numbers.map(lambda literal: f"@{literal}@"), json_value)


@st.composite
def messenger_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A messaging item of a real kind whose fields may hold anything."""

    def field(plausible: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(plausible, odd_or_any))

    sender = {"id": field(st.just(f"adv-{next(_users)}"))}
    common = {"sender": sender, "recipient": {"id": PAGE}, "timestamp": field(st.just(1))}
    kind = draw(st.sampled_from(["message", "postback", "delivery", "read", "reaction"]))
    bodies = {
        "message": {"mid": field(st.just(f"adv-m{next(_users)}")), "text": field(any_text)},
        "postback": {"title": field(any_text), "payload": field(any_text)},
        "delivery": {"mids": field(st.lists(any_text, max_size=2)), "watermark": field(st.just(1))},
        "read": {"watermark": field(st.just(1))},
        "reaction": {"mid": field(any_text), "emoji": field(any_text), "action": "react"},
    }
    return {**common, kind: bodies[kind]}


def nested(depth: int) -> dict[str, Any]:
    return {"sender": {"id": "adv-deep"}, "timestamp": 1, "deep": f"@{'[' * depth}{']' * depth}@"}


adversarial_event = st.one_of(
    messenger_shaped(), json_value, st.integers(30, 1500).map(nested)
)


@st.composite
def body(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    """Raw bytes, and the good messages (user, text) in them."""
    goods = [
        (f"good-{next(_users)}", draw(st.text(string.ascii_letters + " é😀", max_size=30)))
        for _ in range(draw(st.integers(0, 2)))
    ]
    events = [text_event(user, text + "x", f"m-{user}", PAGE) for user, text in goods]
    for _ in range(draw(st.integers(0 if goods else 1, 2))):
        events.insert(draw(st.integers(0, len(events))), draw(adversarial_event))
    entry = {"id": PAGE, "time": draw(st.one_of(st.just(1), odd_or_any)), "messaging": events}
    raw = json.dumps({"object": "page", "entry": [entry]})
    raw = raw.replace('"@', "").replace('@"', "")  # the literals and nesting go in unquoted
    return raw.encode(), [(user, text + "x") for user, text in goods]


whole_body_garbage = st.one_of(
    st.binary(max_size=40), json_value.map(lambda value: json.dumps(value).encode())
)
request_body = st.one_of(body(), body(), body(), whole_body_garbage.map(lambda raw: (raw, [])))


@pytest.fixture
async def client(make_server: Any) -> Any:
    """One server for every example of the run."""
    return await make_server()


@settings(
    max_examples=25,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(request_body, min_size=2, max_size=8))
async def test_fuzzed_bodies_never_get_5xx_and_good_messages_are_answered_once(
    client: Any, graph: Any, batch: list[tuple[bytes, list[tuple[str, str]]]]
) -> None:
    fake = graph[0]

    async def post(raw: bytes) -> int:
        data, headers = signed(raw, APP_SECRET)
        async with client.post("/webhook", data=data, headers=headers) as response:
            return response.status

    statuses = await asyncio.gather(*(post(raw) for raw, _ in batch))  # sharing one write
    assert all(status < 500 for status in statuses), statuses
    for status in sorted(set(statuses)):
        event(f"a body answered {status}")
    accepted = [user for (_, goods), ok in zip(batch, statuses) for user, _ in goods if ok == 200]
    refused = [user for (_, goods), ok in zip(batch, statuses) for user, _ in goods if ok != 200]
    await wait_for(lambda: all(fake.texts(user) for user in accepted), timeout=4)
    await asyncio.sleep(0.05)  # a second answer would come now
    assert all(len(fake.texts(user)) == 1 for user in accepted)
    assert not any(fake.texts(user) for user in refused)
