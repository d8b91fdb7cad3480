"""Concurrent writes sharing one transaction, without one bad member failing the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Gathers :meth:`submit` calls that arrive while a commit runs into the next shared commit.

    ``commit`` writes a list of items in one transaction and returns one result per item. When a
    shared commit fails with one of ``member_errors`` (what a single item can cause, such as a
    value the database cannot bind), its members are committed again one by one, so that error
    fails its own caller alone; any other error (a full disk, a lock) fails them all at once.
    ``classify`` maps the error a caller gets to the one it raises.
    """

    def __init__(
        self,
        commit: Callable[[list[Item]], Awaitable[list[Result]]],
        member_errors: tuple[type[Exception], ...] = (),
        classify: Callable[[Exception], Exception] = lambda error: error,
    ) -> None:
        self._commit = commit
        self._member_errors = member_errors
        self._classify = classify
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await future

    async def drain(self) -> None:
        """Wait until every submitted item is committed (or failed)."""
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._commit([item for item, _ in batch])
            except Exception as error:  # noqa: BLE001 - handed to the waiting callers
                if len(batch) > 1 and isinstance(error, self._member_errors):
                    for member in batch:
                        await self._commit_alone(*member)
                    continue
                for _, future in batch:
                    _settle(future, error=self._classify(error))
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    async def _commit_alone(self, item: Item, future: asyncio.Future[Result]) -> None:
        try:
            [result] = await self._commit([item])
        except Exception as error:  # noqa: BLE001 - handed to the waiting caller
            _settle(future, error=self._classify(error))
        else:
            _settle(future, result)


def _settle(
    future: asyncio.Future[Result], result: Result | None = None, error: Exception | None = None
) -> None:
    if future.done():  # its caller went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
