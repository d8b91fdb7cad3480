"""``botframework serve`` and the ``messenger-profile``, ``-delete-user``, ``-retry`` commands."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from botframework.cli.decoding_options import add_decoding_options, configure_decoding
from botframework.cli.errors import CommandError, input_path
from botframework.cli.options import add_override_options

if TYPE_CHECKING:
    from botframework.messenger.served import ServedBot, ServerSettings

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def add_serve_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and the ``messenger-*`` commands to the command line."""
    serve = subparsers.add_parser(
        "serve",
        help="serve bots on Messenger (webhook) and in a local web chat",
        description="Answer Messenger users and a local web chat through the message pipeline. "
        "Secrets come from MESSENGER_PAGE_ACCESS_TOKEN, MESSENGER_APP_SECRET and "
        "MESSENGER_VERIFY_TOKEN; MESSENGER_GRAPH_API_URL overrides the Graph API address. "
        "Without them only the web chat runs.",
    )
    serve.add_argument("bots", nargs="+", metavar="BOT.yaml", help="one or more bot definitions")
    add_override_options(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--state-dir", type=Path, help="durable store; default <workspace>/messenger"
    )
    add_decoding_options(serve)
    serve.add_argument("--ssl-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    serve.add_argument("--ssl-key", type=Path, help="and this private key (PEM)")
    serve.add_argument(
        "--no-web-chat", action="store_true", help="do not serve the web chat (/ and /api/)"
    )
    serve.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
    serve.add_argument(
        "--body-timeout",
        type=float,
        help="seconds a client may take to send a request body (default 10)",
    )
    serve.add_argument(
        "--shutdown-timeout", type=float, default=10.0, help="seconds to finish work on SIGTERM"
    )
    serve.set_defaults(handler=run_serve)

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
    retry.add_argument("--hours", type=float, default=24.0, help="look this far back (default 24)")
    retry.add_argument(
        "--transient-only",
        action="store_true",
        help="only events that failed for a transient cause (rate limit, outage)",
    )
    retry.set_defaults(handler=run_retry)


def run_serve(args: argparse.Namespace) -> int:
    from botframework.bot import Bot
    from botframework.messenger.served import BODY_TIMEOUT_S, ServedBot, ServerSettings

    _configure_logging()
    if args.body_timeout is not None and args.body_timeout <= 0:
        print("botframework: error: --body-timeout must be positive", file=sys.stderr)
        return 2
    if args.checkpoint and len(args.bots) > 1:
        print("botframework: error: --checkpoint needs a single bot", file=sys.stderr)
        return 2
    context = _ssl_context(args.ssl_cert, args.ssl_key)
    bots = []
    for path in args.bots:
        bot = Bot.load(path, args.overrides, args.checkpoint)
        configure_decoding(bot, args)
        bots.append(bot)
    state_dir = args.state_dir or bots[0].definition.workspace / "messenger"
    settings = ServerSettings.from_env(
        state_dir,
        web_chat=not args.no_web_chat,
        metrics=not args.no_metrics,
        body_timeout=args.body_timeout or BODY_TIMEOUT_S,
        shutdown_grace=args.shutdown_timeout,
    )
    served = [ServedBot.from_bot(bot) for bot in bots]
    missing = settings.missing(served)
    if missing:
        print(
            f"Messenger is off until these environment variables are set: {', '.join(missing)}. "
            "The web chat works without them.",
            file=sys.stderr,
        )
    _warn_if_open(settings, args.host)
    from botframework.messenger.sqlite_open import UnusableDatabase

    try:
        run_server(served, settings, args.host, args.port, context, args.shutdown_timeout)
    except UnusableDatabase as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise CommandError(
            f"--host {args.host} --port {args.port}: address already in use (is another server "
            "running? pick another --port)"
        ) from None
    return 0


def _warn_if_open(settings: ServerSettings, host: str) -> None:
    """Say so when anyone who can reach ``host`` may talk to the model or read the metrics."""
    from botframework.messenger.served import METRICS_TOKEN_ENV, WEB_CHAT_TOKEN_ENV

    if host in ("127.0.0.1", "localhost", "::1"):
        return
    routes = (
        ("/api/chat", settings.web_chat, settings.web_chat_token, "web-chat", WEB_CHAT_TOKEN_ENV),
        ("/metrics", settings.metrics, settings.metrics_token, "metrics", METRICS_TOKEN_ENV),
    )
    open_routes = [
        f"{route} (turn it off with --no-{flag}, or set {env})"
        for route, served, token, flag, env in routes
        if served and not token
    ]
    if open_routes:
        print(
            f"Listening on {host}: anyone who can reach it may use {', '.join(open_routes)}.",
            file=sys.stderr,
        )


def _ssl_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """HTTPS settings from ``--ssl-cert`` and ``--ssl-key``, checked before any model loads."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise CommandError("--ssl-cert and --ssl-key go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(
            input_path("--ssl-cert", str(cert)), input_path("--ssl-key", str(key))
        )
    except ssl.SSLError as error:
        raise CommandError(
            f"--ssl-cert {cert} --ssl-key {key}: not a PEM certificate and its key ({error})"
        ) from None
    return context


def run_server(
    served: list[ServedBot],
    settings: ServerSettings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 10.0,
) -> None:
    """Run the server until SIGINT/SIGTERM: stop accepting, finish or keep in flight, clean up.

    Raises :class:`~botframework.messenger.sqlite_open.UnusableDatabase` before listening when the
    store cannot be opened.
    """
    from aiohttp import web

    from botframework.messenger.app import create_app
    from botframework.messenger.logs import ScrubbingAccessLogger, install_scrubbing
    from botframework.messenger.sqlite_store import SQLiteStore

    _configure_logging()
    install_scrubbing()
    # Opened before listening, so a damaged database stops the start with one line.
    store = SQLiteStore(settings.state_dir / "messenger.sqlite3")
    web.run_app(
        create_app(served, settings, store=store),
        host=host,
        port=port,
        ssl_context=ssl_context,
        access_log_class=ScrubbingAccessLogger,
        shutdown_timeout=shutdown_timeout,
        print=lambda text: print(text, file=sys.stderr, flush=True),
    )


def run_profile(args: argparse.Namespace) -> int:
    import json

    from botframework.config.loader import load_definition
    from botframework.messenger.app import load_transport
    from botframework.messenger.logs import install_scrubbing, register_secret
    from botframework.messenger.profile import profile_payload, set_profile
    from botframework.messenger.send_api import GraphApiError, SendApi, TransportError
    from botframework.messenger.served import ServerSettings
    from botframework.plugins import build_plugin_manager

    _configure_logging()
    install_scrubbing()
    config = load_definition(args.bot, args.overrides).config
    channel = config.channel
    try:
        payload = profile_payload(channel)
    except ValueError as error:
        print(f"botframework: error: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    settings = ServerSettings.from_env(".")
    token = os.environ.get(channel.page_token_env)
    if not token:
        print(f"botframework: error: set {channel.page_token_env}", file=sys.stderr)
        return 2
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


def _existing_store(args: argparse.Namespace) -> tuple[str, Path | None]:
    """The bot's name and its store's path (None, after saying so, when there is no store)."""
    from botframework.config.loader import load_definition

    definition = load_definition(args.bot, args.overrides)
    state_dir = args.state_dir or definition.workspace / "messenger"
    path = state_dir / "messenger.sqlite3"
    if not path.is_file() and not path.with_name(path.name + "-wal").exists():
        print(f"botframework: error: no store at {path}", file=sys.stderr)
        return definition.config.name, None
    return definition.config.name, path


def run_delete_user(args: argparse.Namespace) -> int:
    from botframework.messenger.sqlite_store import SQLiteStore

    name, path = _existing_store(args)
    if path is None:
        return 2

    async def delete() -> int:
        store = SQLiteStore(path)
        try:
            return await store.delete_user(args.user_id, name)
        finally:
            await store.close()

    from botframework.messenger.sqlite_open import UnusableDatabase

    try:
        deleted = asyncio.run(delete())
    except UnusableDatabase as error:
        print(f"botframework: error: {error}", file=sys.stderr)
        return 2
    print(f"deleted {deleted} stored rows of user {args.user_id}")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    import time

    from botframework.messenger.backoff import MESSAGING_WINDOW_S
    from botframework.messenger.sqlite_store import SQLiteStore

    if not 0 < args.hours <= MESSAGING_WINDOW_S / 3600:
        print(f"botframework: error: --hours must be in (0, 24], got {args.hours}", file=sys.stderr)
        return 2
    name, path = _existing_store(args)
    if path is None:
        return 2

    async def retry() -> int:
        store = SQLiteStore(path)
        try:
            since = time.time() - args.hours * 3600
            return await store.retry_failed(since, name, retryable_only=args.transient_only)
        finally:
            await store.close()

    from botframework.messenger.sqlite_open import UnusableDatabase

    try:
        count = asyncio.run(retry())
    except UnusableDatabase as error:
        raise CommandError(str(error)) from None
    print(f"{count} failed events of {name} are pending again; the server sends them at its start")
    return 0


def _configure_logging() -> None:
    level = os.environ.get("BOTFRAMEWORK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """``python -m botframework.messenger COMMAND ...`` (the same commands as the main CLI)."""
    parser = argparse.ArgumentParser(prog="python -m botframework.messenger")
    add_serve_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    from botframework.cli.errors import run_handler

    return run_handler(args)
