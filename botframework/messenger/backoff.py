"""Backoff shared by every send with one Page token, and a policy that bounds retries in time.

Meta's rate limits (codes 4, 17, 32, 613) count calls per app and Page, not per user: when one send
is refused, every user's send with that token waits, and one request at a time probes until one
is accepted. Without this, each user's queue retried on its own and a rate limit got worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

#: Meta answers a user's message only within 24 hours of it (``messaging_type: RESPONSE``).
MESSAGING_WINDOW_S = 24 * 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and when to give up.

    Attempt ``n`` waits between half and all of ``min(max_delay, base_delay * 2**n)``. A send is
    retried until ``budget_s`` seconds have passed since its first attempt, and at most
    ``max_attempts`` times when that is set.
    """

    max_attempts: int | None = None
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget_s: float = 3600.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt, 60))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def exhausted(self, attempts: int, elapsed: float) -> bool:
        """Whether a send that failed ``attempts`` times over ``elapsed`` seconds gives up."""
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return elapsed >= self.budget_s


@dataclass
class _TokenState:
    streak: int = 0  # consecutive failed probes; 0 means sends go out freely
    resume_at: float = 0.0  # monotonic time before which no send with this token goes out
    probe: asyncio.Lock = field(default_factory=asyncio.Lock)


class SharedBackoff:
    """One backoff per access token, shared by every user's sends with it."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._clock = clock
        self._states: dict[str, _TokenState] = {}

    def backing_off(self, token: str) -> bool:
        state = self._states.get(token)
        return state is not None and state.streak > 0

    def seconds_left(self) -> float:
        """How long until the longest-waiting token may send again (0 when none waits)."""
        now = self._clock()
        waits = [s.resume_at - now for s in self._states.values() if s.streak]
        return max([0.0, *waits])

    @contextlib.asynccontextmanager
    async def turn(self, token: str) -> AsyncIterator[bool]:
        """Hold a send until ``token`` may send; yields whether this send is the one probe."""
        state = self._states.setdefault(token, _TokenState())
        if not state.streak:
            yield False
            return
        async with state.probe:
            if state.streak:
                await self._sleep(max(0.0, state.resume_at - self._clock()))
            probing = state.streak > 0
            if probing:
                yield True
                return
        yield False  # the backoff ended while this send waited: go out without the lock

    def succeeded(self, token: str) -> None:
        state = self._states.get(token)
        if state is not None:
            state.streak, state.resume_at = 0, 0.0

    def failed(self, token: str, probing: bool) -> float:
        """Record a rate-limit or transient failure; return the seconds every send now waits.

        A failure of a send that went out before the backoff began does not lengthen it."""
        state = self._states.setdefault(token, _TokenState())
        if probing or not state.streak:
            state.streak += 1
            delay = self.policy.delay(state.streak - 1)
            state.resume_at = max(state.resume_at, self._clock() + delay)
        return max(0.0, state.resume_at - self._clock())
