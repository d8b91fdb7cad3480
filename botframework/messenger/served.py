"""What the server serves: bots (hooks + a batch generate function) and the server's settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from botframework.config.schema import ChannelConfig
from botframework.messenger.batching import BatchGenerate
from botframework.messenger.send_api import DEFAULT_GRAPH_API_URL
from botframework.messenger.store_url import STORE_ENV

if TYPE_CHECKING:
    from botframework.bot import Bot

APP_SECRET_ENV = "MESSENGER_APP_SECRET"
VERIFY_TOKEN_ENV = "MESSENGER_VERIFY_TOKEN"
GRAPH_API_URL_ENV = "MESSENGER_GRAPH_API_URL"
WEB_CHAT_TOKEN_ENV = "BOTFRAMEWORK_WEB_CHAT_TOKEN"
METRICS_TOKEN_ENV = "BOTFRAMEWORK_METRICS_TOKEN"
MAX_BODY_BYTES = 1 << 20
BODY_TIMEOUT_S = 10.0


@dataclass
class ServedBot:
    """One bot as the server sees it.

    ``hook`` runs the message-pipeline hooks; ``generate`` has :meth:`Bot.generate`'s shape and is
    called from a worker thread with a batch of dialogues (``serve`` hands it a
    :class:`~botframework.messenger.decode_process.DecodeProcess`, so torch runs in a child
    process). ``settings`` are the plugins' validated ``settings`` sections, handed to the hooks
    with every conversation.
    """

    name: str
    hook: pluggy.HookRelay
    generate: BatchGenerate
    channel: ChannelConfig = field(default_factory=ChannelConfig)
    privacy_policy: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_bot(cls, bot: Bot, generate: BatchGenerate | None = None) -> ServedBot:
        """``bot`` as served; ``generate`` replaces ``bot.generate`` (e.g. a decode process)."""
        channel = bot.definition.config.channel
        privacy = channel.privacy_policy
        if channel.privacy_policy_file:
            privacy = bot.definition.resolve(channel.privacy_policy_file).read_text(
                encoding="utf-8"
            )
        name = bot.definition.config.name
        return cls(
            name, bot.plugin_manager.hook, generate or bot.generate, channel, privacy, bot.settings
        )


@dataclass
class ServerSettings:
    """Secrets and endpoints (from the environment) and server-wide limits."""

    state_dir: Path
    app_secret: str | None = None
    verify_token: str | None = None
    graph_api_url: str = DEFAULT_GRAPH_API_URL
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = BODY_TIMEOUT_S
    web_chat: bool = True
    metrics: bool = True
    web_chat_token: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    shutdown_grace: float = 10.0
    retention_interval: float = 3600.0
    #: ``sqlite:///...`` or ``postgresql://...``; None: SQLite in ``state_dir``.
    store_url: str | None = field(default=None, repr=False)
    #: Seconds a dead process's leases on users outlive it (shared stores).
    claim_timeout: float = 30.0

    @classmethod
    def from_env(
        cls, state_dir: str | Path, environ: Mapping[str, str] | None = None, **kwargs: object
    ) -> ServerSettings:
        env = dict(os.environ if environ is None else environ)
        return cls(
            Path(state_dir),
            app_secret=env.get(APP_SECRET_ENV) or None,
            verify_token=env.get(VERIFY_TOKEN_ENV) or None,
            graph_api_url=(env.get(GRAPH_API_URL_ENV) or DEFAULT_GRAPH_API_URL).rstrip("/"),
            web_chat_token=env.get(WEB_CHAT_TOKEN_ENV) or None,
            metrics_token=env.get(METRICS_TOKEN_ENV) or None,
            environ=env,
            **{"store_url": env.get(STORE_ENV) or None, **kwargs},  # type: ignore[arg-type]
        )

    def page_token(self, bot: ServedBot) -> str | None:
        return self.environ.get(bot.channel.page_token_env) or None

    def missing(self, bots: list[ServedBot]) -> list[str]:
        """The environment variables Messenger still needs (empty when it can run)."""
        names = [] if self.app_secret else [APP_SECRET_ENV]
        if not self.verify_token:
            names.append(VERIFY_TOKEN_ENV)
        for bot in bots:
            if not self.page_token(bot) and bot.channel.page_token_env not in names:
                names.append(bot.channel.page_token_env)
        return names
