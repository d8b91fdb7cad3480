"""Group commit: callers share a transaction; a member's own error fails only that member."""

from __future__ import annotations

import asyncio

from botframework.messenger.group_commit import GroupCommit


class Ledger:
    """A commit that refuses the whole list when it holds ``"bad"`` (or always, when ``down``)."""

    def __init__(self, down: bool = False) -> None:
        self.down = down
        self.commits: list[list[str]] = []

    async def commit(self, items: list[str]) -> list[str]:
        self.commits.append(items)
        await asyncio.sleep(0)
        if self.down:
            raise OSError("disk full")
        if "bad" in items:
            raise ValueError("cannot bind 'bad'")
        return [item.upper() for item in items]


async def test_a_member_error_is_split_out_and_fails_that_member_alone() -> None:
    ledger = Ledger()
    group = GroupCommit(ledger.commit, (ValueError,), lambda error: KeyError(str(error)))
    outcomes = await asyncio.gather(
        *(group.submit(item) for item in ["a", "bad", "b"]), return_exceptions=True
    )
    assert outcomes[0::2] == ["A", "B"]
    assert isinstance(outcomes[1], KeyError)
    assert ledger.commits == [["a", "bad", "b"], ["a"], ["bad"], ["b"]]


async def test_other_errors_fail_the_whole_group_without_retrying_each() -> None:
    ledger = Ledger(down=True)
    group = GroupCommit(ledger.commit, (ValueError,))
    outcomes = await asyncio.gather(
        *(group.submit(item) for item in ["a", "b", "c"]), return_exceptions=True
    )
    assert all(isinstance(outcome, OSError) for outcome in outcomes)
    assert ledger.commits == [["a", "b", "c"]]


async def test_callers_arriving_during_a_commit_share_the_next_one() -> None:
    ledger = Ledger()
    group = GroupCommit(ledger.commit)
    first = asyncio.ensure_future(group.submit("a"))
    await asyncio.sleep(0)  # the first commit is running now
    rest = [asyncio.ensure_future(group.submit(item)) for item in "bcd"]
    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert ledger.commits == [["a"], ["b", "c", "d"]]
    await group.drain()
