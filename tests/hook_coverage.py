"""Which hooks have an implementation that the test session calls.

tests/conftest.py imports the fixture and the collection hook from here;
tests/test_hook_coverage.py, moved to the end of the session, asserts that every hook spec was
exercised when the whole suite runs (as datasette checks that every plugin hook has a test).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

#: Names of the hooks one of whose implementations ran during this session.
HOOKS_CALLED: set[str] = set()
LAST_TEST = "test_hook_coverage.py::test_every_hook_spec_is_exercised_by_the_suite"
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session", autouse=True)
def record_hook_calls() -> Iterator[set[str]]:
    """Record the hook of every implementation that runs, on any plugin manager (the core's or a
    test's own), called by pluggy or directly by the core (``eval`` calls each plugin's
    ``register_eval_metrics`` itself, to keep the plugins' order)."""
    init = pluggy.HookImpl.__init__

    def recording_init(
        self: pluggy.HookImpl, plugin: object, plugin_name: str, function: Any, opts: Any
    ) -> None:
        name = opts.get("specname") or function.__name__

        @functools.wraps(function)
        def recorded(*args: object, **kwargs: object) -> object:
            HOOKS_CALLED.add(name)
            return function(*args, **kwargs)

        @functools.wraps(function)
        def recorded_wrapper(*args: object, **kwargs: object) -> Any:
            HOOKS_CALLED.add(name)  # pluggy requires wrappers to stay generator functions
            return (yield from function(*args, **kwargs))

        wrapped = recorded_wrapper if inspect.isgeneratorfunction(function) else recorded
        init(self, plugin, plugin_name, wrapped, opts)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pluggy.HookImpl, "__init__", recording_init)
        yield HOOKS_CALLED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the hook-coverage test after every other test."""
    last = [item for item in items if item.nodeid.endswith(LAST_TEST)]
    items[:] = [item for item in items if item not in last] + last


def whole_suite(session: pytest.Session) -> bool:
    """Whether this session runs every test file, unfiltered by -k or -m."""
    option = session.config.option
    if getattr(option, "keyword", "") or getattr(option, "markexpr", ""):
        return False
    ran = {Path(item.path).resolve() for item in session.items}
    return ran >= set(TESTS.rglob("test_*.py"))
