"""Leases on users in the PostgreSQL store: one process at a time answers a user's events.

A lease is a ``user_claims`` row naming its owner (one store object in one process) and when it
expires. Its owner renews all of its leases every third of the claim timeout; a process that
dies stops renewing, and once its leases expire another process takes them over (``SELECT ...
FOR UPDATE SKIP LOCKED``, so two processes never wait on the same expired lease).
Expiry is measured by the database's clock, the one clock every process shares.
"""

from __future__ import annotations

import asyncpg

from botframework.messenger.store import PENDING

CLAIM = """
INSERT INTO user_claims (bot, user_id, owner, expires_at)
VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4))
ON CONFLICT (bot, user_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
WHERE user_claims.owner = EXCLUDED.owner OR user_claims.expires_at < clock_timestamp()
RETURNING owner
"""

RELEASE = f"""
DELETE FROM user_claims
WHERE bot = $1 AND user_id = $2 AND owner = $3 AND ($4 OR NOT EXISTS (
    SELECT 1 FROM inbox WHERE bot = $1 AND user_id = $2 AND state = '{PENDING}'))
"""

TAKE_OVER_EXPIRED = """
WITH expired AS (
    SELECT bot, user_id FROM user_claims
    WHERE expires_at < clock_timestamp() AND bot = ANY($1::text[])
    ORDER BY expires_at LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE user_claims AS claim
SET owner = $2, expires_at = clock_timestamp() + make_interval(secs => $3)
FROM expired WHERE claim.bot = expired.bot AND claim.user_id = expired.user_id
RETURNING claim.bot, claim.user_id
"""

NEVER_CLAIMED = f"""
SELECT DISTINCT bot, user_id FROM inbox
WHERE state = '{PENDING}' AND bot = ANY($1::text[]) AND NOT EXISTS (
    SELECT 1 FROM user_claims AS claim
    WHERE claim.bot = inbox.bot AND claim.user_id = inbox.user_id)
LIMIT $2
"""

RENEW = """
UPDATE user_claims SET expires_at = clock_timestamp() + make_interval(secs => $2)
WHERE owner = $1
"""

#: Users taken over by one call of :func:`unclaimed_users`, at most (the next call takes more).
TAKE_AT_ONCE = 200


async def claim(db: asyncpg.Connection, owner: str, timeout: float, bot: str, user: str) -> bool:
    return await db.fetchval(CLAIM, bot, user, owner, timeout) is not None


async def release(
    db: asyncpg.Connection, owner: str, bot: str, user: str, force: bool
) -> bool:
    """True when the lease is gone: released now, or no longer ``owner``'s to release."""
    async with db.transaction():
        if await db.execute(RELEASE, bot, user, owner, force) != "DELETE 0":
            return True
        held = await db.fetchval(
            "SELECT 1 FROM user_claims WHERE bot = $1 AND user_id = $2 AND owner = $3",
            bot,
            user,
            owner,
        )
        return held is None


async def unclaimed_users(
    db: asyncpg.Connection, owner: str, timeout: float, bots: list[str]
) -> list[tuple[str, str]]:
    """Claim expired leases and users with pending events but no lease; return them."""
    taken = await db.fetch(TAKE_OVER_EXPIRED, bots, owner, timeout, TAKE_AT_ONCE)
    users = [(row["bot"], row["user_id"]) for row in taken]
    for row in await db.fetch(NEVER_CLAIMED, bots, TAKE_AT_ONCE):
        if await claim(db, owner, timeout, row["bot"], row["user_id"]):
            users.append((row["bot"], row["user_id"]))
    return users


async def renew(db: asyncpg.Connection, owner: str, timeout: float) -> None:
    await db.execute(RENEW, owner, timeout)


async def release_all(db: asyncpg.Connection, owner: str) -> None:
    await db.execute("DELETE FROM user_claims WHERE owner = $1", owner)
