"""The Page's Messenger Profile: Get Started, the greeting, the persistent menu, ice breakers.

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
    payload: dict[str, Any] = {
        "get_started": {"payload": channel.get_started_payload},
        "greeting": [{"locale": "default", "text": welcome_screen_text(greeting)}],
    }
    messenger = channel.messenger
    if messenger.persistent_menu:
        items = [item.model_dump(exclude_none=True) for item in messenger.persistent_menu]
        payload["persistent_menu"] = [
            {"locale": "default", "composer_input_disabled": False, "call_to_actions": items}
        ]
    if messenger.ice_breakers:
        questions = [breaker.model_dump() for breaker in messenger.ice_breakers]
        payload["ice_breakers"] = [{"locale": "default", "call_to_actions": questions}]
    return payload


def welcome_screen_text(greeting: str) -> str:
    """The greeting with ``{first_name}`` as Meta's welcome-screen placeholder."""
    return greeting.replace("{first_name}", "{{user_first_name}}")


async def set_profile(
    send_api: SendApi, access_token: str, channel: ChannelConfig
) -> dict[str, Any]:
    """Set the Page's profile from the channel settings; returns Meta's answer, ``{"result": "success"}``."""
    return await send_api.call(PROFILE_PATH, access_token, profile_payload(channel))
