"""Receiving: verification, signatures, status codes, every entry and event, ack first."""

from __future__ import annotations

import json
import threading
import time

import pytest

from botframework import hookimpl
from botframework.messenger.signature import sign, signature_is_valid
from botframework.messenger.testing import signed, text_event, webhook_body

from .conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    EchoModel,
    echo_bot,
    post_events,
    wait_for,
)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256",
        "sha256=",
        "foo=bar",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        "sha256=zz",
    ],
)
async def test_bad_signatures_are_refused_with_403(make_server, graph, header) -> None:
    client = await make_server()
    raw = json.dumps(webhook_body(text_event("u1", "hi", "m1"))).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    response = await client.post("/webhook", data=raw, headers=headers)
    assert response.status == 403
    assert graph[0].attempts == 0


def test_signature_is_over_the_raw_bytes() -> None:
    raw = b'{"object":"page","entry":[{"messaging":[{"message":{"text":"\\u00e4"}}]}]}'
    header = sign(APP_SECRET, raw)
    assert signature_is_valid(APP_SECRET, raw, header)
    assert signature_is_valid(APP_SECRET, raw, header.upper().replace("SHA256", "sha256"))
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert not signature_is_valid(APP_SECRET, reserialised, header)
    assert not signature_is_valid("other-secret", raw, header)


async def test_legacy_sha1_header_alone_is_not_enough(make_server) -> None:
    client = await make_server()
    raw = json.dumps(webhook_body(text_event("u1", "hi", "m1"))).encode()
    response = await client.post("/webhook", data=raw, headers={"X-Hub-Signature": "sha1=abc"})
    assert response.status == 403


async def test_invalid_json_is_400_and_other_objects_404(make_server, graph) -> None:
    client = await make_server()
    raw, headers = signed(b"{not json", APP_SECRET)
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 400
    raw, headers = signed(b"\xff\xfe", APP_SECRET)
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 400
    body = {
        "object": "instagram",
        "entry": [{"id": "1000", "messaging": [text_event("u", "x", "m")]}],
    }
    raw, headers = signed(body, APP_SECRET)
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 404
    assert graph[0].attempts == 0


def body_of_exactly(size: int) -> bytes:
    """A valid page webhook body of ``size`` bytes, mostly escaped unicode (as Meta sends it)."""
    head = json.dumps(webhook_body(text_event("u1", "big", "m-big"))).encode()
    marker = b'"text": "big"'
    prefix, suffix = head.split(marker)
    prefix += marker + b', "padding": "'
    suffix = b'"' + suffix
    room = size - len(prefix) - len(suffix)
    padding = b"\\u00e4" * (room // 6) + b"x" * (room % 6)
    return prefix + padding + suffix


async def test_one_mebibyte_accepted_and_larger_refused_with_413(make_server, graph) -> None:
    client = await make_server()
    raw, headers = signed(body_of_exactly(1 << 20), APP_SECRET)
    assert len(raw) == 1 << 20
    assert (await client.post("/webhook", data=raw, headers=headers)).status == 200
    await wait_for(lambda: graph[0].texts("u1") == ["echo: big"])

    too_big, headers = signed(body_of_exactly((1 << 20) + 1), APP_SECRET)
    assert (await client.post("/webhook", data=too_big, headers=headers)).status == 413

    async def chunks():
        for _ in range(40):  # 2.5 MiB without a Content-Length
            yield b" " * 65536

    response = await client.post("/webhook", data=chunks(), headers=headers)
    assert response.status == 413


async def test_get_verification(make_server) -> None:
    client = await make_server()
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await client.get("/webhook", params=ok)
    assert response.status == 200 and await response.text() == "1158201444"
    for bad in ({**ok, "hub.verify_token": "wrong"}, {**ok, "hub.mode": "unsubscribe"}, {}):
        assert (await client.get("/webhook", params=bad)).status == 403


class Notifications:
    def __init__(self) -> None:
        self.events = []

    @hookimpl
    def handle_event(self, event) -> None:
        self.events.append(event)


async def test_every_entry_and_event_handled_and_only_messages_answered(make_server, graph) -> None:
    notes = Notifications()
    client = await make_server([echo_bot(plugins=(notes,))])
    page = "1000"
    common = {"recipient": {"id": page}, "timestamp": 1}
    body = {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": 1,
                "messaging": [
                    text_event("u1", "first", "m1"),
                    text_event("u2", "second", "m2"),
                    {
                        "sender": {"id": page},
                        **common,
                        "message": {"is_echo": True, "mid": "m3", "text": "x"},
                    },
                    {
                        "sender": {"id": "u1"},
                        **common,
                        "delivery": {"mids": ["m0"], "watermark": 1},
                    },
                    {"sender": {"id": "u1"}, **common, "read": {"watermark": 1}},
                    {
                        "sender": {"id": "u1"},
                        **common,
                        "reaction": {
                            "reaction": "love",
                            "emoji": "❤️",
                            "action": "react",
                            "mid": "m0",
                        },
                    },
                    {
                        "sender": {"id": "u3"},
                        **common,
                        "message": {"mid": "m4", "quick_reply": {"payload": "RED"}, "text": "Red"},
                    },
                    {
                        "sender": {"id": "u4"},
                        **common,
                        "postback": {"mid": "m5", "title": "Hello", "payload": "HELLO"},
                    },
                    {
                        "sender": {"id": "u5"},
                        **common,
                        "message": {
                            "mid": "m6",
                            "attachments": [{"type": "image", "payload": {"url": "http://x"}}],
                        },
                    },
                    {"sender": {"id": "u1"}, **common, "something_new": {}},
                    {"sender": {"id": "u1"}},
                    "not an object",
                    {"message": {"text": "no sender, no mid"}},
                ],
            },
            {"id": page, "time": 2, "messaging": [text_event("u6", "third", "m7")]},
            {"id": page, "time": 3, "standby": [text_event("u7", "standby", "m8")]},
            {"id": page, "time": 4, "changes": [{"field": "feed", "value": {"item": "post"}}]},
            {"id": page, "time": 5},
            "odd",
        ],
    }
    raw, headers = signed(body, APP_SECRET)
    response = await client.post("/webhook", data=raw, headers=headers)
    assert response.status == 200
    fake = graph[0]
    await wait_for(lambda: len(fake.messages) == 6)
    assert fake.texts("u1") == ["echo: first"]
    assert fake.texts("u2") == ["echo: second"]
    assert fake.texts("u3") == ["echo: Red"]
    assert fake.texts("u4") == ["echo: Hello"]
    assert fake.texts("u5") == ["I can only read text messages for now."]
    assert fake.texts("u6") == ["echo: third"]
    await wait_for(lambda: len(notes.events) >= 9)
    kinds = sorted(event.kind for event in notes.events)
    expected = ["change", "delivery", "echo", "reaction", "read", "standby"] + ["unknown"] * 3
    assert kinds == expected
    assert fake.texts(page) == [] and fake.texts("u7") == []


async def test_ack_comes_before_the_model_answers(make_server, graph) -> None:
    model = EchoModel()
    model.gate = threading.Event()
    client = await make_server([echo_bot(model=model)])
    try:
        started = time.perf_counter()
        response = await post_events(client, text_event("u1", "slow", "m1"))
        assert response.status == 200
        assert time.perf_counter() - started < 1.0
        assert graph[0].messages == []
    finally:
        model.gate.set()
    await wait_for(lambda: graph[0].texts("u1") == ["echo: slow"])


async def test_without_secrets_webhook_is_refused_and_web_chat_works(make_server, graph) -> None:
    client = await make_server(
        env={
            "MESSENGER_APP_SECRET": "",
            "MESSENGER_VERIFY_TOKEN": "",
            "MESSENGER_PAGE_ACCESS_TOKEN": "",
        }
    )
    health = await (await client.get("/healthz")).json()
    assert health["messenger"] is False
    assert health["missing"] == [
        "MESSENGER_APP_SECRET",
        "MESSENGER_VERIFY_TOKEN",
        "MESSENGER_PAGE_ACCESS_TOKEN",
    ]
    response = await post_events(client, text_event("u1", "hi", "m1"))
    assert response.status == 503
    assert "MESSENGER_APP_SECRET" in await response.text()
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert (await client.get("/webhook", params=params)).status == 403
    chat = await client.post("/api/chat", json={"text": "hello"})
    assert (await chat.json())["reply"] == "echo: hello"


def test_a_stored_row_gives_back_the_event_the_webhook_parsed() -> None:
    """Parsed once at the webhook; after a restart the row gives the same typed event back."""
    from botframework.messenger.events import event_from_row, parse_body
    from botframework.messenger.testing import postback_event, quick_reply_event

    common = {"recipient": {"id": "1000"}, "timestamp": 6}
    echo_message = {"is_echo": True, "app_id": 7, "mid": "e1", "text": "x"}
    echo = {"sender": {"id": "1000"}, "recipient": {"id": "u1"}, "message": echo_message}
    control = {"sender": {"id": "u1"}, **common, "take_thread_control": {"metadata": "x"}}
    body = webhook_body(
        text_event("u1", "hi", "m1"),
        quick_reply_event("u1", "Yes", "YES", "m2"),
        postback_event("u1", "Go", "GO", "m3"),
        echo,
        control,
        {"sender": {"id": "u1"}},
    )
    standby = [text_event("u2", "hey", "m4")]
    changes = [{"field": "feed", "value": {}}]
    body["entry"].append({"id": "1000", "time": 9, "standby": standby, "changes": changes})
    events = parse_body(body)
    kinds = [event.kind for event in events]
    assert kinds == [
        "text", "quick_reply", "postback", "echo", "take_thread_control", "unknown", "standby",
        "change",
    ]  # fmt: skip
    for event in events:
        again = event_from_row(event.kind, event.page_id, event.raw, event.timestamp)
        assert (again, again.kind, again.user_id) == (event, event.kind, event.user_id)
    assert events[3].user_id == "u1" and events[3].app_id == "7"
