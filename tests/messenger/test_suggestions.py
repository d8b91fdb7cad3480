"""``channel.suggestions``: quick replies the model suggests, batched with the other model work."""

from __future__ import annotations

import pytest

from botframework import Bot
from botframework.decoding.candidate import Candidate
from botframework.messenger import ServedBot
from botframework.messenger.suggestions import suggested_replies
from botframework.messenger.testing import text_event
from botframework.reply_parts import QuickReply

from .conftest import EchoModel, echo_bot, post_events, wait_for


def test_suggestions_are_short_distinct_and_free_of_special_tokens() -> None:
    texts = ["ok", "OK !", "<unk> me", "a reply longer than twenty", "  ", "sure", "fine"]
    candidates = [Candidate([], -float(i), {}, text) for i, text in enumerate(texts)]
    assert suggested_replies(candidates, 2) == [QuickReply("ok", "ok"), QuickReply("sure", "sure")]


async def test_suggestions_of_two_users_share_one_decoder_call(make_server, graph) -> None:
    model = EchoModel(reply=lambda dialogue: f"re {dialogue[-1]}"[:18])
    bot = echo_bot(model=model, suggestions=2, batch_max_size=2, batch_max_wait_ms=2000)
    client = await make_server([bot])
    await post_events(client, text_event("u1", "hi", "m1"), text_event("u2", "yo", "m2"))
    await wait_for(lambda: len(graph[0].messages) == 2)
    assert model.batches[0] == [["hi"], ["yo"]]
    assert sorted(map(sorted, model.batches[1])) == [["hi", "re hi"], ["re yo", "yo"]]
    sent = {m.recipient: m.message for m in graph[0].messages}
    assert sent["u1"] == {
        "text": "re hi",
        "quick_replies": [
            {"content_type": "text", "title": "re re hi", "payload": "re re hi"},
            {"content_type": "text", "title": "second best", "payload": "second best"},
        ],
    }


@pytest.mark.slow
async def test_the_tiny_model_suggests_at_most_n_valid_quick_replies(
    make_server, graph, tiny_bot_yaml
) -> None:
    overrides = ["channel.suggestions=3", "decoding.decoder={name: beam, beam_size: 6}"]
    served = ServedBot.from_bot(Bot.load(tiny_bot_yaml, overrides))
    client = await make_server([served])
    await post_events(client, text_event("u1", "hi", "m1"), text_event("u2", "bye", "m2"))
    await wait_for(lambda: len(graph[0].messages) == 2, timeout=30)
    for sent in graph[0].messages:
        titles = [quick["title"] for quick in sent.message["quick_replies"]]
        assert 1 <= len(titles) <= 3 and len(set(titles)) == len(titles)
        assert all(len(title) <= 20 and "<" not in title for title in titles)
    chat = await (await client.post("/api/chat", json={"text": "good night"})).json()
    assert chat["reply"] == "sleep well" and 1 <= len(chat["quick_replies"]) <= 3
    assert graph[0].rejected == []
