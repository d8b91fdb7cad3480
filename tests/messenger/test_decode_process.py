"""A served bot's decode in a child process: where it runs, a child killed mid-batch, start-up."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from functools import partial

import pytest

from botframework.cli.served_bots import serve_bots
from botframework.messenger.batching import Batcher
from botframework.messenger.decode_process import DecodeProcess, DecodeProcessDied
from botframework.messenger.testing import text_event

from .conftest import echo_bot, post_events, wait_for
from .pid_bot import PidBot, failing_bot


async def test_decode_runs_in_a_child_and_a_killed_child_is_replaced(
    make_server, graph, tmp_path
) -> None:
    started = tmp_path / "started"
    decode = DecodeProcess(partial(PidBot, started))
    child = decode.start()
    try:
        assert child != os.getpid()
        client = await make_server([echo_bot(model=decode)])
        await post_events(client, text_event("u1", "hi", "m1"))
        await wait_for(lambda: len(graph[0].messages) == 1, timeout=10)
        assert graph[0].texts("u1") == [f"pid {child}"]

        await post_events(client, text_event("u2", "slow", "m2"))
        await wait_for(started.exists, timeout=10)
        os.kill(child, signal.SIGKILL)
        await post_events(client, text_event("u3", "hello", "m3"))
        await wait_for(lambda: bool(graph[0].texts("u3")), timeout=30)
        replacement = decode.pid
        assert replacement not in (None, child, os.getpid())
        assert graph[0].texts("u3") == [f"pid {replacement}"]
        assert graph[0].texts("u2") == []  # its batch failed with the child
    finally:
        decode.close()


def test_a_batch_waiting_for_a_killed_child_fails_with_a_clear_error() -> None:
    decode = DecodeProcess(partial(PidBot, slow_s=0.5), name="chitchat")
    child = decode.start()
    try:
        waiting = asyncio.run(_kill_while_decoding(decode, child))
        with pytest.raises(DecodeProcessDied, match="chitchat: the decode process died"):
            waiting.result()
        assert decode([["hi"]])[0][0].text == f"pid {decode.pid}" != f"pid {child}"
    finally:
        decode.close()


async def _kill_while_decoding(decode: DecodeProcess, child: int) -> asyncio.Future:
    waiting = asyncio.ensure_future(asyncio.to_thread(decode, [["slow"]]))
    await asyncio.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    await asyncio.wait([waiting])
    return waiting


async def test_a_batch_whose_child_was_killed_is_decoded_again_in_halves(tmp_path) -> None:
    started = tmp_path / "started"
    decode = DecodeProcess(partial(PidBot, started, slow_s=2.0))
    child = decode.start()
    batcher = Batcher(decode, max_size=2, max_wait=0.5)
    try:
        both = asyncio.gather(batcher.submit(["slow"]), batcher.submit(["hi"]))
        await wait_for(started.exists, timeout=10)
        os.kill(child, signal.SIGKILL)
        replies = [candidates[0].text for candidates in await asyncio.wait_for(both, 30)]
        assert replies == [f"pid {decode.pid}"] * 2 != [f"pid {child}"] * 2
    finally:
        await batcher.close()
        decode.close()


def test_start_raises_the_childs_error_when_it_cannot_load() -> None:
    decode = DecodeProcess(failing_bot)
    try:
        with pytest.raises(ValueError, match="no such checkpoint"):
            decode.start()
    finally:
        decode.close()


def test_a_child_killed_while_idle_is_replaced_without_failing_the_next_batch() -> None:
    decode = DecodeProcess(PidBot)
    child = decode.start()
    try:
        os.kill(child, signal.SIGKILL)
        time.sleep(1.0)  # the pool notices the death (at once; a margin for a busy machine)
        assert decode([["hi"]])[0][0].text == f"pid {decode.pid}" != f"pid {child}"
    finally:
        decode.close()


def test_no_decode_process_keeps_the_decode_in_the_server_process(tiny_bot) -> None:
    options = argparse.Namespace(bots=["tiny.yaml"], no_decode_process=True)
    served, processes = serve_bots([tiny_bot], options)
    assert processes == [] and served[0].generate == tiny_bot.generate


def test_with_a_decode_process_the_server_frees_its_own_weights(tiny_bot_yaml, tiny_bot) -> None:
    from botframework import Bot
    from botframework.cli.served_bots import close_all
    from tests.conftest import TINY_PAIRS

    bot = Bot.load(tiny_bot_yaml)
    options = argparse.Namespace(bots=[str(tiny_bot_yaml)], no_decode_process=False, overrides=[])
    served, processes = serve_bots([bot], options)
    try:
        assert all(parameter.is_meta for parameter in bot.model.parameters())
        assert bot.checkpoint.state_dict == {}
        with pytest.raises(RuntimeError, match="released"):
            bot.generate([["hi"]])
        prompts = [[prompt] for prompt, _ in TINY_PAIRS]
        answered = [row[0].text for row in served[0].generate(prompts)]
        assert answered == [row[0].text for row in tiny_bot.generate(prompts)]
    finally:
        close_all(processes)
