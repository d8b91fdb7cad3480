"""The Page's Messenger Profile: the Get Started button and the welcome-screen greeting.

Without a ``get_started`` button the ``GET_STARTED`` postback never arrives. Meta allows 10 calls
per 10 minutes per Page on this endpoint.
"""

from __future__ import annotations

from typing import Any

from botframework.config.schema import ChannelConfig
from botframework.messenger.send_api import SendApi

PROFILE_PATH = "/me/messenger_profile"
GREETING_LIMIT = 160


def profile_payload(channel: ChannelConfig) -> dict[str, Any]:
    """The ``POST /me/messenger_profile`` body for a bot's channel settings."""
    greeting = channel.profile_greeting or channel.greeting
    if len(greeting) > GREETING_LIMIT:
        raise ValueError(
            f"channel.greeting has {len(greeting)} characters, more than the {GREETING_LIMIT} Meta "
            "allows on the welcome screen; set channel.profile_greeting to a shorter text"
        )
    return {
        "get_started": {"payload": channel.get_started_payload},
        "greeting": [{"locale": "default", "text": greeting}],
    }


async def set_profile(
    send_api: SendApi, access_token: str, channel: ChannelConfig
) -> dict[str, Any]:
    """Set the Get Started button and greeting; returns Meta's answer, ``{"result": "success"}``."""
    return await send_api.call(PROFILE_PATH, access_token, profile_payload(channel))
