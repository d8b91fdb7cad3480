"""The Messenger server: webhook -> durable inbox -> message pipeline (batched) -> Send API.

app = create_app([ServedBot.from_bot(bot)], ServerSettings.from_env("state"))
"""

from botframework.messenger.app import create_app
from botframework.messenger.served import ServedBot, ServerSettings

__all__ = ["ServedBot", "ServerSettings", "create_app"]
