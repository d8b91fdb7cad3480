"""Structured replies: quick replies, button and generic templates, media; their limits; the
Send API shapes the stand-in Graph API checks; the saved reply sent the same after a restart."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from botframework import hookimpl
from botframework.messenger.send_api import AiohttpTransport, GraphApiError, SendApi
from botframework.messenger.testing import text_event
from botframework.pipeline import Conversation, IncomingMessage, MessagePipeline, Reply
from botframework.reply_parts import Button, Element, Media, QuickReply

from .conftest import APP_SECRET, PAGE_TOKEN, EchoModel, echo_bot, hook_with, post_events, wait_for

YES_NO = [QuickReply("Yes", "ANSWER_YES"), QuickReply("No", "ANSWER_NO")]


class AddsQuickReplies:
    @hookimpl
    def postprocess_reply(self, message, reply, conversation) -> None:
        reply.quick_replies.extend(YES_NO)


class AnswersWithMenu:
    """answer_without_model returning a Reply: a button template and a photo."""

    @hookimpl
    def answer_without_model(self, message, conversation):
        if message.text != "menu":
            return None
        buttons = [
            Button("Hours", payload="MENU_HOURS"),
            Button("Map", type="web_url", url="https://example.com/map"),
        ]
        photo = Media("image", "https://example.com/shop.jpg")
        return Reply("What would you like?", buttons=buttons, media=photo)


@pytest.mark.parametrize(
    ("build", "limit"),
    [
        (lambda: QuickReply("x" * 21, "P"), "1 to 20 characters"),
        (lambda: QuickReply("ok", "p" * 1001), "1 to 1000 characters"),
        (lambda: Reply("hi", quick_replies=[QuickReply("q", "P")] * 14), "at most 13"),
        (lambda: Reply("hi", buttons=[Button(str(i), payload="P") for i in range(4)]), "at most 3"),
        (lambda: Button("Map", type="web_url", url="example.com"), "http(s) URL"),
        (lambda: Button("Go", type="call"), "postback"),
        (lambda: Media("gif", "https://example.com/a.gif"), "image"),
        (lambda: Element("t" * 81), "1 to 80 characters"),
        (lambda: Element("t", buttons=[Button("b", payload="P")] * 4), "at most 3"),
        (lambda: Reply(None, elements=[Element(str(i)) for i in range(11)]), "at most 10"),
        (lambda: Reply(None, buttons=[Button("Go", payload="P")]), "button template needs"),
    ],
)
def test_limits_raise_naming_the_limit(build, limit) -> None:
    with pytest.raises(ValueError, match=limit.replace("(", r"\(").replace(")", r"\)")):
        build()


async def test_a_plugin_breaking_a_limit_fails_when_the_reply_is_built() -> None:
    class TooMany:
        @hookimpl
        def postprocess_reply(self, message, reply, conversation) -> None:
            reply.quick_replies.extend(QuickReply(str(i), "P") for i in range(14))

    async def generate(message, conversation):
        return []

    pipeline = MessagePipeline(hook_with(TooMany()), generate)
    with pytest.raises(ValueError, match="at most 13 quick replies"):
        await pipeline.handle(IncomingMessage("hi"), Conversation())


async def test_quick_replies_go_on_the_last_part_of_a_long_split_reply(make_server, graph) -> None:
    words = " ".join(f"word{i}" for i in range(900))  # about 7,000 characters: 4 parts
    model = EchoModel(reply=lambda dialogue: words)
    client = await make_server([echo_bot(model=model, plugins=(AddsQuickReplies(),))])
    await post_events(client, text_event("u1", "long please", "m1"))
    await wait_for(lambda: any("quick_replies" in m.message for m in graph[0].messages))
    await asyncio.sleep(0.1)
    sent = graph[0].messages
    assert len(sent) == 4
    assert " ".join(m.text for m in sent).split() == words.split()
    assert all("quick_replies" not in m.message for m in sent[:-1])
    assert sent[-1].message["quick_replies"] == [
        {"content_type": "text", "title": "Yes", "payload": "ANSWER_YES"},
        {"content_type": "text", "title": "No", "payload": "ANSWER_NO"},
    ]
    assert graph[0].rejected == []


async def test_answer_without_model_reply_sends_button_template_and_media(
    make_server, graph
) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model, plugins=(AnswersWithMenu(),))])
    await post_events(client, text_event("u1", "menu", "m1"))
    await wait_for(lambda: len(graph[0].messages) == 2)
    template, photo = (m.message for m in graph[0].messages)
    assert template == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "What would you like?",
                "buttons": [
                    {"type": "postback", "title": "Hours", "payload": "MENU_HOURS"},
                    {"type": "web_url", "title": "Map", "url": "https://example.com/map"},
                ],
            },
        }
    }
    assert photo == {
        "attachment": {
            "type": "image",
            "payload": {"url": "https://example.com/shop.jpg", "is_reusable": True},
        }
    }
    assert model.batches == []  # the model was not asked
    assert graph[0].rejected == []


async def test_stand_in_refuses_what_meta_refuses(graph) -> None:
    api = SendApi(AiohttpTransport(graph[1], app_secret=APP_SECRET))
    too_many = [{"content_type": "text", "title": str(i), "payload": "P"} for i in range(14)]
    bad = [
        {"text": "hi", "quick_replies": too_many},
        {"text": "hi", "attachment": {"type": "image", "payload": {"url": "https://e.com/a"}}},
        {"attachment": {"type": "template", "payload": {"template_type": "button", "text": "x"}}},
    ]
    try:
        for message in bad:
            with pytest.raises(GraphApiError, match="code 100"):
                await api.send_message(PAGE_TOKEN, "u1", message)
    finally:
        await api.transport.close()
    assert len(graph[0].rejected) == 3 and graph[0].messages == []


async def test_a_saved_structured_reply_is_sent_the_same_after_a_restart(
    make_server, graph, tmp_path
) -> None:
    state = tmp_path / "state"
    fake = graph[0]
    fake.hang_all = True  # the reply is saved, then its send never completes: the process stops
    first = await make_server(
        [echo_bot(plugins=(AddsQuickReplies(),), model=EchoModel(reply=lambda d: "first words"))],
        state_dir=state,
    )
    await post_events(first, text_event("u1", "hello", "m1"))
    await wait_for(lambda: fake.attempts == 1)
    await first.close()
    fake.release()
    database = sqlite3.connect(next(state.rglob("*.sqlite*")))
    (saved,) = database.execute("SELECT reply FROM inbox").fetchone()
    database.close()
    assert Reply.from_stored(saved).quick_replies == YES_NO
    second = await make_server(  # a different model and no plugin: it must not answer anew
        [echo_bot(model=EchoModel(reply=lambda d: "other words"))], state_dir=state
    )
    await wait_for(lambda: len(fake.messages) == 1)
    await asyncio.sleep(0.2)
    assert fake.messages[0].message == {
        "text": "first words",
        "quick_replies": [
            {"content_type": "text", "title": q.title, "payload": q.payload} for q in YES_NO
        ],
    }
    assert second is not None


async def test_generic_template_follows_the_text_with_quick_replies_last(
    make_server, graph
) -> None:
    class Carousel:
        @hookimpl
        def postprocess_reply(self, message, reply, conversation) -> None:
            go = [Button("Go", payload="G")]
            card = Element("Shop", "Open 9 to 5", "https://e.com/s.jpg", go)
            reply.elements.append(card)
            reply.quick_replies.append(YES_NO[0])

    client = await make_server([echo_bot(plugins=(Carousel(),))])
    await post_events(client, text_event("u1", "shops", "m1"))
    await wait_for(lambda: len(graph[0].messages) == 2)
    text, carousel = (m.message for m in graph[0].messages)
    assert text == {"text": "echo: shops"}
    assert carousel["attachment"]["payload"] == {
        "template_type": "generic",
        "elements": [
            {
                "title": "Shop",
                "subtitle": "Open 9 to 5",
                "image_url": "https://e.com/s.jpg",
                "buttons": [{"type": "postback", "title": "Go", "payload": "G"}],
            }
        ],
    }
    assert carousel["quick_replies"][0]["payload"] == "ANSWER_YES"
    assert graph[0].rejected == []


def test_old_plain_text_rows_read_as_text_only_replies() -> None:
    assert Reply.from_stored("just words") == Reply("just words")
    structured = Reply("hi", quick_replies=YES_NO, media=Media("file", "https://e.com/a.pdf"))
    assert Reply.from_stored(structured.to_json()) == structured
