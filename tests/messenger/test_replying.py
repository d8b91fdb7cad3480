"""Replying: dedupe, order, batching, splitting, retries, hangs, and secrets kept out of logs.

The tests taking ``store_url`` run on every store engine (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import threading

from botframework.decoding.candidate import Candidate
from botframework.messenger.send_api import (
    AiohttpTransport,
    RetryPolicy,
    SendApi,
    TransportError,
)
from botframework.messenger.testing import Failure, text_event

from .conftest import APP_SECRET, PAGE_TOKEN, EchoModel, echo_bot, post_events, wait_for


async def test_duplicates_answered_once_sequential_and_concurrent(
    store_url, make_server, graph
) -> None:
    client = await make_server(store_url=store_url)
    fake = graph[0]
    event = text_event("u1", "once", "m-dup")
    assert (await post_events(client, event)).status == 200
    assert (await post_events(client, event)).status == 200
    other = text_event("u2", "racing", "m-race")
    responses = await asyncio.gather(*(post_events(client, other) for _ in range(10)))
    assert {response.status for response in responses} == {200}
    await wait_for(lambda: len(fake.messages) == 2)
    await asyncio.sleep(0.2)
    assert sorted(fake.texts()) == ["echo: once", "echo: racing"]
    metrics = await (await client.get("/metrics")).text()
    assert "botframework_webhook_duplicates_total 10" in metrics


async def test_dedupe_survives_a_restart(store_url, make_server, graph, tmp_path) -> None:
    state = tmp_path / "shared-state"
    first = await make_server(state_dir=state, store_url=store_url)
    await post_events(first, text_event("u1", "hello", "m-restart"))
    await wait_for(lambda: len(graph[0].messages) == 1)
    await first.close()
    second = await make_server(state_dir=state, store_url=store_url)
    assert (await post_events(second, text_event("u1", "hello", "m-restart"))).status == 200
    await asyncio.sleep(0.3)
    assert graph[0].texts() == ["echo: hello"]


async def test_one_users_messages_answered_in_order_users_in_parallel(
    store_url, make_server, graph
) -> None:
    model = EchoModel(delay=0.02)
    client = await make_server([echo_bot(model=model, batch_max_size=8)], store_url=store_url)
    events = [
        text_event(f"u{u}", f"{u}-{i}", f"m{u}-{i}", timestamp=i)
        for i in range(5)
        for u in range(4)
    ]
    await post_events(client, *events)
    await wait_for(lambda: len(graph[0].messages) == 20)
    for user in range(4):
        assert graph[0].texts(f"u{user}") == [f"echo: {user}-{i}" for i in range(5)]
    assert max(len(batch) for batch in model.batches) > 1  # users were batched together


async def test_concurrent_users_are_batched_into_one_generate_call(make_server, graph) -> None:
    model = EchoModel()
    model.gate = threading.Event()
    client = await make_server([echo_bot(model=model, batch_max_size=32, batch_max_wait_ms=5)])
    await post_events(client, text_event("first", "go", "m-first"))
    await asyncio.sleep(0.1)  # the first batch is now blocked inside generate
    await asyncio.gather(
        *(post_events(client, text_event(f"u{i}", "hi", f"m{i}")) for i in range(20))
    )
    await asyncio.sleep(0.1)
    model.gate.set()
    await wait_for(lambda: len(graph[0].messages) == 21)
    assert [len(batch) for batch in model.batches] == [1, 20]


async def test_batching_off_generates_one_by_one(make_server, graph) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model, batching=False)])
    await post_events(client, *(text_event(f"u{i}", "hi", f"m{i}") for i in range(6)))
    await wait_for(lambda: len(graph[0].messages) == 6)
    assert {len(batch) for batch in model.batches} == {1}


async def test_conversation_state_reaches_the_model(store_url, make_server, graph) -> None:
    model = EchoModel()
    client = await make_server([echo_bot(model=model)], store_url=store_url)
    await post_events(client, text_event("u1", "one", "m1"))
    await wait_for(lambda: len(graph[0].messages) == 1)
    await post_events(client, text_event("u1", "two", "m2"))
    await wait_for(lambda: len(graph[0].messages) == 2)
    assert model.batches[-1] == [["one", "echo: one", "two"]]


async def test_long_reply_split_into_parts_and_reassembled(
    store_url, make_server, graph
) -> None:
    words = " ".join(f"word{i}" for i in range(900))  # about 8,000 characters
    model = EchoModel(reply=lambda dialogue: words + " 👍🏽" * 300)
    client = await make_server([echo_bot(model=model)], store_url=store_url)
    await post_events(client, text_event("u1", "long please", "m1"))
    await wait_for(lambda: len(graph[0].messages) >= 5)
    await asyncio.sleep(0.1)
    parts = graph[0].texts("u1")
    assert all(0 < len(part.encode("utf-16-le")) // 2 <= 2000 for part in parts)
    assert " ".join(parts).split() == (words + " 👍🏽" * 300).split()
    assert graph[0].rejected == []


async def test_transient_failures_are_retried(make_server, graph) -> None:
    fake = graph[0]
    fake.fail_next(
        Failure(500), Failure(400, 613), Failure(500, 2, transient=True), Failure(400, 1200)
    )
    client = await make_server([echo_bot(send_max_attempts=6)])
    await post_events(client, text_event("u1", "retry me", "m1"))
    await wait_for(lambda: fake.texts("u1") == ["echo: retry me"])
    assert fake.attempts == 5
    metrics = await (await client.get("/metrics")).text()
    assert "botframework_send_retries_total 4" in metrics


async def test_permanent_errors_are_not_retried(make_server, graph, caplog) -> None:
    fake = graph[0]
    client = await make_server()
    for index, code in enumerate((190, 551, 10, 100)):
        fake.fail_next(Failure(400, code))
        before = fake.attempts
        with caplog.at_level(logging.WARNING):
            await post_events(client, text_event(f"u{index}", "no", f"m-perm-{index}"))
            await wait_for(lambda before=before: fake.attempts == before + 1)
            await asyncio.sleep(0.1)
        assert fake.attempts == before + 1
        assert f"code {code}" in caplog.text
    metrics = await (await client.get("/metrics")).text()
    assert 'botframework_reply_failures_total{reason="190"} 1' in metrics
    assert 'botframework_inbox_events{state="failed"} 4' in metrics


async def test_retries_give_up_after_max_attempts(make_server, graph) -> None:
    fake = graph[0]
    fake.fail_next(*[Failure(503)] * 3)
    client = await make_server([echo_bot(send_max_attempts=3)])
    await post_events(client, text_event("u1", "doomed", "m1"))
    await wait_for(lambda: fake.attempts == 3)
    await post_events(client, text_event("u1", "next", "m2"))
    await wait_for(lambda: fake.texts("u1") == ["echo: next"])


async def test_a_hanging_graph_api_does_not_block_other_users(make_server, graph) -> None:
    fake = graph[0]
    fake.hang_recipients.add("stuck")
    client = await make_server([echo_bot(send_timeout_s=30)])
    await post_events(client, text_event("stuck", "hello", "m-stuck"))
    await asyncio.sleep(0.05)
    await post_events(client, *(text_event(f"u{i}", "hi", f"m{i}") for i in range(5)))
    await wait_for(lambda: len(fake.messages) == 5, timeout=3)
    assert "stuck" not in {m.recipient for m in fake.messages}


async def test_timeouts_are_retried(make_server, graph) -> None:
    fake = graph[0]
    fake.fail_next(Failure(hang=True))
    client = await make_server([echo_bot(send_timeout_s=0.3)])
    await post_events(client, text_event("u1", "slowly", "m1"))
    await wait_for(lambda: fake.texts("u1") == ["echo: slowly"], timeout=5)


async def test_typing_on_and_mark_seen_are_sent(make_server, graph) -> None:
    client = await make_server()
    await post_events(client, text_event("u1", "hi", "m1"))
    await wait_for(lambda: len(graph[0].messages) == 1)
    await wait_for(lambda: {("u1", "mark_seen"), ("u1", "typing_on")} <= set(graph[0].actions))


async def test_typing_on_is_refreshed_while_generation_is_slow(
    make_server, graph, monkeypatch
) -> None:
    from botframework.messenger import responder

    monkeypatch.setattr(responder, "TYPING_REFRESH_S", 0.05)
    model = EchoModel()
    model.gate = threading.Event()
    client = await make_server([echo_bot(model=model)])
    await post_events(client, text_event("u1", "think hard", "m1"))
    try:
        await wait_for(lambda: graph[0].actions.count(("u1", "typing_on")) >= 3)
    finally:
        model.gate.set()
    await wait_for(lambda: graph[0].texts("u1") == ["echo: think hard"])


async def test_tokens_never_reach_logs(make_server, graph, caplog) -> None:
    fake = graph[0]
    fake.fail_next(Failure(400, 190))
    with caplog.at_level(logging.DEBUG):
        client = await make_server()
        await post_events(client, text_event("u1", "x", "m1"))
        await wait_for(lambda: fake.attempts == 1)
        await asyncio.sleep(0.05)
    transport = AiohttpTransport("http://127.0.0.1:9/v25.0", app_secret=APP_SECRET, timeout=1)
    api = SendApi(transport, RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01))
    try:
        try:
            await api.send_text(PAGE_TOKEN + "-secret-value", "u1", "hello")
        except TransportError as error:
            assert "secret-value" not in str(error)
    finally:
        await transport.close()
    from botframework.messenger.logs import ScrubbingFilter, scrub

    record_texts = []
    for record in caplog.records:
        ScrubbingFilter().filter(record)
        record_texts.append(record.getMessage())
    text = "\n".join(record_texts)
    assert PAGE_TOKEN not in text and APP_SECRET not in text
    assert scrub("GET /x?access_token=abc123&b=1") == "GET /x?access_token=***&b=1"
    assert (
        scrub("hub.verify_token=letmein&hub.challenge=1") == "hub.verify_token=***&hub.challenge=1"
    )


async def test_pymessenger_transport_sends_and_is_retried(make_server, graph) -> None:
    fake = graph[0]
    fake.fail_next(Failure(400, 613), Failure(500))
    client = await make_server([echo_bot(transport="pymessenger")])
    await post_events(client, text_event("u1", "via requests", "m1"))
    await wait_for(lambda: fake.texts("u1") == ["echo: via requests"])
    assert fake.attempts == 3
    assert fake.rejected == []  # appsecret_proof and the body were right


async def test_a_dialogue_that_fails_generation_fails_alone_not_its_batch(
    make_server, graph
) -> None:
    class PoisonedModel(EchoModel):
        def __call__(self, dialogues: list[list[str]]) -> list[list[Candidate]]:
            if any(dialogue[-1] == "poison" for dialogue in dialogues):
                self.batches.append([list(d) for d in dialogues])
                raise ValueError("this dialogue cannot be decoded")
            return super().__call__(dialogues)

    model = PoisonedModel()
    model.gate = threading.Event()
    client = await make_server([echo_bot(model=model, batch_max_size=32, batch_max_wait_ms=5)])
    await post_events(client, text_event("first", "go", "m-first"))
    await asyncio.sleep(0.1)  # the first batch is now blocked inside generate
    texts = [f"hi {i}" for i in range(19)] + ["poison"]
    await asyncio.gather(
        *(post_events(client, text_event(f"u{i}", text, f"m{i}")) for i, text in enumerate(texts))
    )
    await asyncio.sleep(0.1)
    model.gate.set()
    await wait_for(lambda: len(graph[0].messages) == 20)
    await asyncio.sleep(0.2)
    assert sorted(graph[0].texts()) == sorted(["echo: go", *(f"echo: {t}" for t in texts[:19])])
    assert len(model.batches[1]) == 20  # the 20 went together, and failed together
    assert [d[-1] for d in model.batches[-1]] == ["poison"]  # at last it failed alone
    metrics = await (await client.get("/metrics")).text()
    assert 'botframework_reply_failures_total{reason="ValueError"} 1' in metrics
