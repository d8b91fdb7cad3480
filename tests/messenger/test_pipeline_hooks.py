"""The server answers through the message-pipeline hooks: plugins, blocklist, Get Started."""

from __future__ import annotations

from botframework import hookimpl
from botframework.messenger.testing import text_event

from .conftest import EchoModel, echo_bot, post_events, wait_for


class HelpCommand:
    @hookimpl
    def answer_without_model(self, message, conversation):
        return "I answer everything." if message.text == "help" else None


class Shout:
    @hookimpl
    async def preprocess_message(self, message, conversation) -> None:
        message.text = message.text.upper()


async def test_plugins_answer_without_the_model_and_rewrite_messages(make_server, graph) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model, plugins=(HelpCommand(), Shout()))])
    await post_events(client, text_event("u1", "help", "m1"))
    await wait_for(lambda: graph[0].texts("u1") == ["echo: HELP"])
    client2 = await make_server(
        [echo_bot(name="two", model=model, plugins=(HelpCommand(),))], state_dir=None
    )
    await post_events(client2, text_event("u2", "help", "m2"))
    await wait_for(lambda: graph[0].texts("u2") == ["I answer everything."])
    assert len(model.batches) == 1


async def test_blocklist_vetoes_and_sends_the_fallback(make_server, graph) -> None:
    rude = EchoModel(reply=lambda dialogue: "you are STUPID" if "rude" in dialogue[-1] else "nice")
    settings = {"blocklist": {"words": ["stupid"], "fallback": "Let's change the subject."}}
    bot = echo_bot(model=rude, settings=settings)
    client = await make_server([bot])
    await post_events(client, text_event("u1", "be rude", "m1"), text_event("u1", "be kind", "m2"))
    await wait_for(lambda: graph[0].texts("u1") == ["Let's change the subject.", "nice"])
    chat = await (await client.post("/api/chat", json={"text": "rude?"})).json()
    assert chat["reply"] == "Let's change the subject." and chat["vetoed_by"] == ["blocklist"]


async def test_blocklist_without_fallback_sends_nothing(make_server, graph) -> None:
    rude = EchoModel(reply=lambda dialogue: "stupid" if dialogue[-1] == "a" else "fine")
    client = await make_server(
        [echo_bot(model=rude, settings={"blocklist": {"words": ["stupid"], "fallback": None}})]
    )
    await post_events(client, text_event("u1", "a", "m1"), text_event("u1", "b", "m2"))
    await wait_for(lambda: graph[0].texts("u1") == ["fine"])


async def test_get_started_gets_the_greeting(make_server, graph) -> None:
    client = await make_server([echo_bot(greeting="Welcome, human!")])
    postback = {
        "sender": {"id": "u1"},
        "recipient": {"id": "1000"},
        "timestamp": 1,
        "postback": {"title": "Get Started", "payload": "GET_STARTED"},
    }
    await post_events(client, postback)
    await post_events(client, postback)  # a re-delivery without a mid is still a duplicate
    await wait_for(lambda: graph[0].texts("u1") == ["Welcome, human!"])


async def test_health_metrics_and_privacy(make_server) -> None:
    client = await make_server([echo_bot(privacy_policy="We keep your last turns for 30 days.")])
    assert (await (await client.get("/healthz")).json())["messenger"] is True
    metrics = await client.get("/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await metrics.text()
    assert "# TYPE botframework_webhook_ack_seconds histogram" in text
    assert 'botframework_inbox_events{state="pending"} 0' in text
    assert (await (await client.get("/privacy")).text()).startswith("We keep")
    bare = await make_server([echo_bot(name="bare")])
    assert (await bare.get("/privacy")).status == 404


async def test_an_empty_model_reply_gets_the_configured_text(make_server, graph) -> None:
    quiet = EchoModel(reply=lambda dialogue: "  ")
    client = await make_server([echo_bot(model=quiet, empty_reply="Hmm.")])
    await post_events(client, text_event("u1", "anything", "m1"))
    await wait_for(lambda: graph[0].texts("u1") == ["Hmm."])
