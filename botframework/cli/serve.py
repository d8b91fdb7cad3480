"""``botframework serve`` and ``botframework messenger-profile`` / ``messenger-delete-user``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from botframework.cli.decoding_options import add_decoding_options, configure_decoding
from botframework.cli.options import add_override_options

if TYPE_CHECKING:
    from botframework.messenger.served import ServedBot, ServerSettings

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def add_serve_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve``, ``messenger-profile`` and ``messenger-delete-user`` to the command line."""
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
    serve.add_argument("--no-web-chat", action="store_true", help="do not serve the web chat")
    serve.add_argument(
        "--shutdown-timeout", type=float, default=10.0, help="seconds to finish work on SIGTERM"
    )
    serve.set_defaults(handler=run_serve)

    profile = subparsers.add_parser(
        "messenger-profile",
        help="set the Page's Get Started button and greeting (Messenger Profile API)",
        description="POST the bot's get_started payload and greeting to /me/messenger_profile "
        "with the Page token from the environment.",
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


def run_serve(args: argparse.Namespace) -> int:
    from botframework.bot import Bot
    from botframework.messenger.served import ServedBot, ServerSettings

    _configure_logging()
    if args.checkpoint and len(args.bots) > 1:
        print("botframework: error: --checkpoint needs a single bot", file=sys.stderr)
        return 2
    if bool(args.ssl_cert) != bool(args.ssl_key):
        print("botframework: error: --ssl-cert and --ssl-key go together", file=sys.stderr)
        return 2
    bots = []
    for path in args.bots:
        bot = Bot.load(path, args.overrides, args.checkpoint)
        configure_decoding(bot, args)
        bots.append(bot)
    state_dir = args.state_dir or bots[0].definition.workspace / "messenger"
    settings = ServerSettings.from_env(
        state_dir, web_chat=not args.no_web_chat, shutdown_grace=args.shutdown_timeout
    )
    served = [ServedBot.from_bot(bot) for bot in bots]
    missing = settings.missing(served)
    if missing:
        print(
            f"Messenger is off until these environment variables are set: {', '.join(missing)}. "
            "The web chat works without them.",
            file=sys.stderr,
        )
    context = None
    if args.ssl_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.ssl_cert, args.ssl_key)
    run_server(served, settings, args.host, args.port, context, args.shutdown_timeout)
    return 0


def run_server(
    served: list[ServedBot],
    settings: ServerSettings,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 10.0,
) -> None:
    """Run the server until SIGINT/SIGTERM: stop accepting, finish or keep in flight, clean up."""
    from aiohttp import web

    from botframework.messenger.app import create_app
    from botframework.messenger.logs import ScrubbingAccessLogger, install_scrubbing

    _configure_logging()
    install_scrubbing()
    web.run_app(
        create_app(served, settings),
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


def run_delete_user(args: argparse.Namespace) -> int:
    from botframework.config.loader import load_definition
    from botframework.messenger.sqlite_store import SQLiteStore

    definition = load_definition(args.bot, args.overrides)
    state_dir = args.state_dir or definition.workspace / "messenger"
    path = state_dir / "messenger.sqlite3"
    if not path.is_file():
        print(f"botframework: error: no store at {path}", file=sys.stderr)
        return 2

    async def delete() -> int:
        store = SQLiteStore(path)
        try:
            return await store.delete_user(args.user_id, definition.config.name)
        finally:
            await store.close()

    print(f"deleted {asyncio.run(delete())} stored rows of user {args.user_id}")
    return 0


def _configure_logging() -> None:
    level = os.environ.get("BOTFRAMEWORK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    """``python -m botframework.messenger COMMAND ...`` (the same commands as the main CLI)."""
    parser = argparse.ArgumentParser(prog="python -m botframework.messenger")
    add_serve_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    from botframework.checkpoint import CheckpointError
    from botframework.config.loader import ConfigError

    try:
        return int(args.handler(args) or 0)
    except (ConfigError, CheckpointError) as error:
        print(f"botframework: error: {error}", file=sys.stderr)
        return 2
