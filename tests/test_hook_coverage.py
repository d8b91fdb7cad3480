"""Every hook spec has at least one implementation that the test suite exercises.

Runs last (see tests/hook_coverage.py) and only when the whole suite runs: a subset of the tests
exercises a subset of the hooks.
"""

from __future__ import annotations

import pytest

from botframework import hookspecs
from tests.hook_coverage import HOOKS_CALLED, whole_suite


def hook_specs() -> set[str]:
    return {
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, f"{hookspecs.PROJECT_NAME}_spec")
    }


def test_every_hook_spec_is_exercised_by_the_suite(request: pytest.FixtureRequest) -> None:
    if not whole_suite(request.session):
        pytest.skip("checked only when the whole suite runs")
    missing = sorted(hook_specs() - HOOKS_CALLED)
    assert not missing, f"no test calls an implementation of: {', '.join(missing)}"


def test_the_recorder_sees_hook_calls(record_hook_calls: set[str]) -> None:
    from botframework.plugins import build_plugin_manager, collect_parts

    record_hook_calls.discard("register_decoders")
    collect_parts(build_plugin_manager(entry_points=False))
    assert "register_decoders" in record_hook_calls


def test_the_recorder_keeps_wrappers_generators(record_hook_calls: set[str]) -> None:
    import pluggy

    from botframework import Conversation, IncomingMessage, hookimpl

    class Wrapping:
        @hookimpl(wrapper=True)
        def answer_without_model(self, message, conversation):
            answer = yield
            return answer.upper() if answer else answer

    class Answering:
        @hookimpl
        def answer_without_model(self, message, conversation):
            return "hi"

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(Answering())
    manager.register(Wrapping())
    answer = manager.hook.answer_without_model
    assert answer(message=IncomingMessage("x"), conversation=Conversation()) == "HI"
