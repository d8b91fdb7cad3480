"""The Page administration commands: ``messenger-profile``, ``messenger-delete-user`` and
``messenger-retry``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from botframework.cli.errors import CommandError
from botframework.cli.options import add_override_options

if TYPE_CHECKING:
    from botframework.messenger.store import Store

T = TypeVar("T")

STORE_HELP = "the server's --store (default: $BOTFRAMEWORK_STORE, else SQLite in --state-dir)"


def add_page_admin_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``messenger-*`` commands to the command line."""
    profile = subparsers.add_parser(
        "messenger-profile",
        help="set the Page's Get Started button, greeting, menu and ice breakers",
        description="POST the bot's get_started payload, greeting, channel.messenger."
        "persistent_menu and ice_breakers to /me/messenger_profile with the Page token from the "
        "environment.",
    )
    profile.add_argument("bot", metavar="BOT.yaml")
    add_override_options(profile, checkpoint=False)
    profile.add_argument("--dry-run", action="store_true", help="print the request body only")
    profile.set_defaults(handler=run_profile)

    delete = subparsers.add_parser(
        "messenger-delete-user",
        help="delete everything stored about one Messenger user (data-deletion requests)",
    )
    delete.add_argument("bot", metavar="BOT.yaml")
    delete.add_argument("user_id", metavar="PSID", help="the user's page-scoped id")
    add_override_options(delete, checkpoint=False)
    delete.add_argument("--state-dir", type=Path, help="default <workspace>/messenger")
    delete.add_argument("--store", metavar="URL", help=STORE_HELP)
    delete.set_defaults(handler=run_delete_user)

    retry = subparsers.add_parser(
        "messenger-retry",
        help="make failed Messenger events pending again; the server sends them at its next start",
        description="Failed events received in the last --hours (at most 24: Meta refuses replies "
        "after that) become pending again, keeping any reply parts already sent.",
    )
    retry.add_argument("bot", metavar="BOT.yaml")
    add_override_options(retry, checkpoint=False)
    retry.add_argument("--state-dir", type=Path, help="default <workspace>/messenger")
    retry.add_argument("--store", metavar="URL", help=STORE_HELP)
    retry.add_argument("--hours", type=float, default=24.0, help="look this far back (default 24)")
    retry.add_argument(
        "--transient-only",
        action="store_true",
        help="only events that failed for a transient cause (rate limit, outage)",
    )
    retry.set_defaults(handler=run_retry)


def run_profile(args: argparse.Namespace) -> int:
    import json

    from botframework.config.loader import load_definition
    from botframework.messenger.app import load_transport
    from botframework.messenger.logs import install_scrubbing, register_secret
    from botframework.messenger.profile import profile_payload, set_profile
    from botframework.messenger.send_api import GraphApiError, SendApi, TransportError
    from botframework.messenger.served import ServerSettings
    from botframework.plugins import build_plugin_manager

    configure_logging()
    install_scrubbing()
    config = load_definition(args.bot, args.overrides).config
    channel = config.channel
    try:
        payload = profile_payload(channel)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.dry_run:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    settings = ServerSettings.from_env(".")
    token = os.environ.get(channel.page_token_env)
    if not token:
        raise CommandError(f"set {channel.page_token_env}")
    register_secret(token)
    register_secret(settings.app_secret)

    async def send() -> dict[str, object]:
        secret = settings.app_secret if channel.appsecret_proof else None
        hook = build_plugin_manager(config.plugins.load, config.plugins.block).hook
        transport = load_transport(
            channel.transport, hook, settings.graph_api_url, secret, channel.send_timeout_s
        )
        try:
            from botframework.messenger.send_api import RetryPolicy

            api = SendApi(
                transport, RetryPolicy(3, channel.retry_base_delay_s, channel.retry_max_delay_s)
            )
            return await set_profile(api, token, channel)
        finally:
            await transport.close()

    try:
        answer = asyncio.run(send())
    except (GraphApiError, TransportError) as error:
        print(f"botframework: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


def _existing_store(args: argparse.Namespace) -> tuple[str, str]:
    """The bot's name and the URL of its existing store."""
    from botframework.config.loader import load_definition
    from botframework.messenger.store_url import (
        SQLITE_FILE,
        STORE_ENV,
        BadStoreUrl,
        check_store_url,
        sqlite_path,
    )

    definition = load_definition(args.bot, args.overrides)
    url = args.store or os.environ.get(STORE_ENV) or None
    try:
        engine = check_store_url(url) if url else "sqlite"
    except BadStoreUrl as error:
        raise CommandError(f"{'--store' if args.store else STORE_ENV}: {error}") from None
    if engine != "sqlite":
        return definition.config.name, url or ""
    state_dir = args.state_dir or definition.workspace / "messenger"
    path = sqlite_path(url) if url else state_dir / SQLITE_FILE
    if not path.is_file() and not path.with_name(path.name + "-wal").exists():
        raise CommandError(f"no store at {path}")
    return definition.config.name, f"sqlite:///{path}"


def _on_store(url: str, change: Callable[[Store], Awaitable[T]]) -> T:
    """``change(store)`` on the store at ``url``; a damaged or unreachable store is one line,
    touched by nothing."""
    from botframework.messenger.sqlite_open import UnusableDatabase
    from botframework.messenger.store_url import open_store

    async def run() -> T:
        store = open_store(url, Path("."))
        try:
            return await change(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except UnusableDatabase as error:
        raise CommandError(str(error)) from None


def run_delete_user(args: argparse.Namespace) -> int:
    name, url = _existing_store(args)
    deleted = _on_store(url, lambda store: store.delete_user(args.user_id, name))
    print(f"deleted {deleted} stored rows of user {args.user_id}")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from botframework.messenger.backoff import MESSAGING_WINDOW_S

    if not 0 < args.hours <= MESSAGING_WINDOW_S / 3600:
        raise CommandError(f"--hours must be in (0, 24], got {args.hours}")
    name, url = _existing_store(args)
    since = time.time() - args.hours * 3600
    count = _on_store(
        url, lambda store: store.retry_failed(since, name, retryable_only=args.transient_only)
    )
    when = "at its start" if url.startswith("sqlite") else "within seconds (shared store)"
    print(f"{count} failed events of {name} are pending again; the server sends them {when}")
    return 0


def configure_logging() -> None:
    """Log to stderr at ``BOTFRAMEWORK_LOG_LEVEL`` (INFO by default)."""
    level = os.environ.get("BOTFRAMEWORK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
