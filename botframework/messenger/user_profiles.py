"""The user's profile fields (``channel.messenger.profile_fields``), fetched once per user.

``GET /{PSID}?fields=first_name`` runs on a user's first answered message; the answer is cached in
the store. A failure never stops the reply: it is logged, and a permanent one (the user shared no
profile, an unknown user; not a bad token) is cached as an empty profile so it is not asked again.
"""

from __future__ import annotations

import logging

from botframework.messenger.send_api import GraphApiError, SendApi, TransportError
from botframework.messenger.store import Store
from botframework.messenger.store_health import StoreHealth

log = logging.getLogger(__name__)


class UserProfiles:
    """Each user's profile fields: from the store, else from the Graph API (then stored)."""

    def __init__(self, store: Store, send_api: SendApi, store_health: StoreHealth) -> None:
        self.store = store
        self.send_api = send_api
        self.store_health = store_health

    async def fields(
        self, bot: str, user_id: str, wanted: list[str], access_token: str
    ) -> dict[str, str]:
        """The ``wanted`` fields known for the user (some may be missing); {} when none wanted."""
        if not wanted:
            return {}
        cached = await self.store_health.call(self.store.user_profile, bot, user_id)
        if cached is not None:
            return cached
        try:
            answer = await self.send_api.user_profile(access_token, user_id, wanted)
        except (GraphApiError, TransportError) as error:
            log.warning("no profile for a user of %s: %s", bot, error)
            if isinstance(error, GraphApiError) and not error.retryable and error.code != 190:
                await self.store_health.call(self.store.save_user_profile, bot, user_id, {})
            return {}
        profile = {name: str(answer[name]) for name in wanted if isinstance(answer.get(name), str)}
        await self.store_health.call(self.store.save_user_profile, bot, user_id, profile)
        return profile
