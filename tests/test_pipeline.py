"""The message pipeline with a real tiny trained bot and plugins registered the way users do."""

from __future__ import annotations

import asyncio

import pytest

from botframework import Conversation, Event, IncomingMessage, Reply, hookimpl
from tests.conftest import TINY_PAIRS


class HelpCommand:
    @hookimpl
    def answer_without_model(self, message: IncomingMessage, conversation: Conversation):
        return "commands: help" if message.text == "help" else None


class Blocklist:
    @hookimpl
    def postprocess_reply(self, message: IncomingMessage, reply: Reply, conversation: Conversation):
        if reply.text and "jazz" in reply.text:
            reply.veto(by="blocklist", fallback="let's talk about something else")


class AsyncRewriter:
    """Async hooks: the core awaits what they return."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    async def preprocess_message(self, message: IncomingMessage, conversation: Conversation):
        await asyncio.sleep(0)
        message.text = message.text.lower()

    @hookimpl
    async def handle_event(self, event: Event):
        self.events.append(event)


@pytest.fixture
def with_plugins(tiny_bot):
    plugins = [HelpCommand(), Blocklist(), AsyncRewriter()]
    for plugin in plugins:
        tiny_bot.plugin_manager.register(plugin)
    yield plugins
    for plugin in plugins:
        tiny_bot.plugin_manager.unregister(plugin)


def test_tiny_bot_recites_every_training_reply(tiny_bot) -> None:
    for prompt, reply in TINY_PAIRS:
        assert tiny_bot.reply(prompt) == reply


def test_generate_is_batched_and_matches_one_at_a_time(tiny_bot) -> None:
    dialogues = [[prompt] for prompt, _ in TINY_PAIRS]
    together = [row[0].text for row in tiny_bot.generate(dialogues)]
    alone = [tiny_bot.generate([d])[0][0].text for d in dialogues]
    assert together == alone == [reply for _, reply in TINY_PAIRS]


def test_candidate_score_is_the_model_log_probability(tiny_bot) -> None:
    import torch

    candidate = tiny_bot.generate([["hi"]])[0][0]
    ctx = tiny_bot.scoring_context([["hi"]])
    target = torch.tensor([candidate.token_ids + [tiny_bot.tokenizer.eos_id]])
    expected = tiny_bot.model.sequence_log_probs(
        ctx.source_ids, ctx.source_lengths, target, torch.tensor([target.shape[1]])
    )
    assert candidate.score == pytest.approx(float(expected), abs=1e-4)
    assert candidate.scores == {"model": pytest.approx(candidate.score)}


def test_short_circuit_skips_the_model(tiny_bot, with_plugins) -> None:
    reply = asyncio.run(tiny_bot.respond("help"))
    assert (reply.text, reply.answered_by, reply.candidates) == ("commands: help", "plugin", [])


def test_veto_replaces_with_fallback_and_async_preprocess_runs(tiny_bot, with_plugins) -> None:
    conversation = Conversation()
    reply = asyncio.run(tiny_bot.respond("DO YOU LIKE MUSIC ?", conversation))
    assert reply.candidates[0].text == "yes i love jazz"
    assert reply.text == "let's talk about something else"
    assert reply.vetoed_by == ["blocklist"]
    assert conversation.texts() == ["DO YOU LIKE MUSIC ?", "let's talk about something else"]


def test_notification_hook_receives_events(tiny_bot, with_plugins) -> None:
    event = Event(kind="read", user_id="42")
    asyncio.run(tiny_bot.pipeline().notify(event))
    assert with_plugins[2].events == [event]


def test_async_short_circuit_is_refused(tiny_bot) -> None:
    class Wrong:
        @hookimpl
        async def answer_without_model(self, message, conversation):
            return "never"

    plugin = Wrong()
    tiny_bot.plugin_manager.register(plugin)
    try:
        with pytest.raises(TypeError, match="must be a plain function"):
            asyncio.run(tiny_bot.respond("hi"))
    finally:
        tiny_bot.plugin_manager.unregister(plugin)
