"""The responder's store calls, retried until they succeed, and whether the store is failing now.

A reply that went out must be recorded, or a restart answers the user again: when the store
fails (a full disk, a locked or unreachable database) the call waits with backoff and tries again,
holding that user's queue, while ``/healthz`` and ``/metrics`` report the store as failing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from botframework.messenger.backoff import RetryPolicy
from botframework.messenger.metrics import Metrics

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Backoff between attempts of a failing store call (no budget: it is retried until it succeeds).
STORE_RETRY = RetryPolicy(base_delay=0.5, max_delay=30.0)


class StoreHealth:
    """Runs store calls until they succeed; ``problem`` is the last error while any still fails."""

    def __init__(
        self, metrics: Metrics, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self.metrics = metrics
        self.policy = STORE_RETRY
        self._sleep = sleep
        self._failing = 0  # calls waiting to be retried
        self.problem: str | None = None
        self.failing_since: float | None = None

    @property
    def failing(self) -> bool:
        return self._failing > 0

    async def call(
        self, operation: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``await operation(*args, **kwargs)``, retried with backoff until it succeeds."""
        attempt = 0
        try:
            while True:
                try:
                    return await operation(*args, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # noqa: BLE001 - any store failure is retried
                    self._failed(operation.__name__, error, first=attempt == 0)
                attempt += 1
                await self._sleep(self.policy.delay(attempt - 1))
        except asyncio.CancelledError:
            if attempt:
                log.error(
                    "store.%s still failing at shutdown (%s); its event stays pending",
                    operation.__name__,
                    self.problem,
                )
            raise
        finally:
            if attempt:
                self._stopped_failing()

    def _failed(self, name: str, error: Exception, first: bool) -> None:
        self.metrics.store_errors.inc(operation=name)
        self.problem = f"store.{name} failed: {type(error).__name__}: {error}"
        if first:
            self._failing += 1
            if self.failing_since is None:
                self.failing_since = time.time()
        log.warning("%s; retrying with backoff", self.problem)

    def _stopped_failing(self) -> None:
        self._failing -= 1
        if not self._failing:
            log.info("no store call is failing any more (last error: %s)", self.problem)
            self.problem, self.failing_since = None, None
