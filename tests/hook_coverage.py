"""Which hooks the test session calls with at least one implementation registered.

tests/conftest.py imports the fixture and the collection hook from here;
tests/test_hook_coverage.py, moved to the end of the session, asserts that every hook spec was
exercised when the whole suite runs (as datasette checks that every plugin hook has a test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest

#: Hook names called while an implementation was registered, during this session.
HOOKS_CALLED: set[str] = set()
LAST_TEST = "test_hook_coverage.py::test_every_hook_spec_is_exercised_by_the_suite"
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="session", autouse=True)
def record_hook_calls() -> Iterator[set[str]]:
    """Record every hook called on any plugin manager (the core's or a test's own)."""
    call = pluggy.HookCaller.__call__

    def recording(self: pluggy.HookCaller, **kwargs: object) -> object:
        if self.get_hookimpls():
            HOOKS_CALLED.add(self.name)
        return call(self, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pluggy.HookCaller, "__call__", recording)
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
