"""``botframework serve`` (and, through :mod:`~botframework.cli.page_admin`, the ``messenger-*``
commands)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from botframework.cli.decoding_options import add_decoding_options
from botframework.cli.errors import CommandError, input_path
from botframework.cli.options import add_override_options
from botframework.cli.page_admin import add_page_admin_commands, configure_logging
from botframework.cli.served_bots import close_all, load_bot, serve_bots

if TYPE_CHECKING:
    from botframework.messenger.served import ServedBot, ServerSettings
    from botframework.messenger.store import Store

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
    serve.add_argument(
        "--store",
        metavar="URL",
        help="sqlite:///path/to/store.sqlite3 or postgresql://user@host:port/database "
        "(default: $BOTFRAMEWORK_STORE, else SQLite in --state-dir)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT); above 1 needs a PostgreSQL store",
    )
    serve.add_argument(
        "--claim-timeout",
        type=float,
        default=30.0,
        help="seconds before a dead process's users pass to the others (PostgreSQL; default 30)",
    )
    serve.add_argument(
        "--no-decode-process",
        action="store_true",
        help="decode in a thread of the server process instead of a child process of its own "
        "(saves the child's memory; webhook acknowledgements then wait behind the decode)",
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

    add_page_admin_commands(subparsers)


def run_serve(args: argparse.Namespace) -> int:
    from botframework.messenger.served import BODY_TIMEOUT_S, ServerSettings

    configure_logging()
    if args.body_timeout is not None and args.body_timeout <= 0:
        print("botframework: error: --body-timeout must be positive", file=sys.stderr)
        return 2
    if args.checkpoint and len(args.bots) > 1:
        print("botframework: error: --checkpoint needs a single bot", file=sys.stderr)
        return 2
    store_url = _store_url(args)
    context = _ssl_context(args.ssl_cert, args.ssl_key)
    if args.workers > 1:
        from botframework.cli.workers import serve_workers

        return serve_workers(args, args.workers)
    bots = [load_bot(path, args) for path in args.bots]
    state_dir = args.state_dir or bots[0].definition.workspace / "messenger"
    settings = ServerSettings.from_env(
        state_dir,
        web_chat=not args.no_web_chat,
        metrics=not args.no_metrics,
        body_timeout=args.body_timeout or BODY_TIMEOUT_S,
        shutdown_grace=args.shutdown_timeout,
        store_url=store_url,
        claim_timeout=args.claim_timeout,
    )
    with _start_errors_in_one_line(args):
        store = open_serving_store(settings)  # a damaged store fails before the decode starts
        served, decode_processes = serve_bots(bots, args)
        try:
            _say_what_is_off(settings, served, args.host)
            run_server(
                served,
                settings,
                args.host,
                args.port,
                context,
                args.shutdown_timeout,
                getattr(args, "reuse_port", False),
                store,
            )
        finally:
            close_all(decode_processes)
    return 0


@contextmanager
def _start_errors_in_one_line(args: argparse.Namespace) -> Iterator[None]:
    """An unusable store or a busy port as a :class:`CommandError`."""
    from botframework.messenger.sqlite_open import UnusableDatabase

    try:
        yield
    except UnusableDatabase as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise CommandError(
            f"--host {args.host} --port {args.port}: address already in use (is another server "
            "running? pick another --port)"
        ) from None


def _say_what_is_off(settings: ServerSettings, served: list[ServedBot], host: str) -> None:
    missing = settings.missing(served)
    if missing:
        print(
            f"Messenger is off until these environment variables are set: {', '.join(missing)}. "
            "The web chat works without them.",
            file=sys.stderr,
        )
    _warn_if_open(settings, host)


def _store_url(args: argparse.Namespace) -> str | None:
    """``--store`` (else ``$BOTFRAMEWORK_STORE``), checked; ``--workers`` checked against it."""
    import os

    from botframework.messenger.store_url import STORE_ENV, BadStoreUrl, check_store_url

    url = args.store or os.environ.get(STORE_ENV) or None
    option = "--store" if args.store else STORE_ENV
    engine = "sqlite"
    if url:
        try:
            engine = check_store_url(url)
        except BadStoreUrl as error:
            raise CommandError(f"{option}: {error}") from None
    if args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}")
    if args.claim_timeout <= 0:
        raise CommandError(f"--claim-timeout must be positive, got {args.claim_timeout:g}")
    if args.workers > 1 and engine != "postgresql":
        raise CommandError(
            f"--workers {args.workers} needs a store the processes can share: SQLite belongs to "
            "one process; use --store postgresql://user@host:port/database"
        )
    return url


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
    reuse_port: bool = False,
    store: Store | None = None,
) -> None:
    """Run the server until SIGINT/SIGTERM: stop accepting, finish or keep in flight, clean up.

    ``store`` defaults to :func:`open_serving_store`'s, which raises
    :class:`~botframework.messenger.sqlite_open.UnusableDatabase` before listening when the store
    cannot be opened.
    """
    from aiohttp import web

    from botframework.messenger.app import create_app
    from botframework.messenger.logs import ScrubbingAccessLogger, install_scrubbing

    configure_logging()
    install_scrubbing()
    store = store or open_serving_store(settings)
    web.run_app(
        create_app(served, settings, store=store),
        host=host,
        port=port,
        ssl_context=ssl_context,
        access_log_class=ScrubbingAccessLogger,
        shutdown_timeout=shutdown_timeout,
        reuse_port=reuse_port or None,
        print=lambda text: print(text, file=sys.stderr, flush=True),
    )


def open_serving_store(settings: ServerSettings) -> Store:
    """The server's store, opened (PostgreSQL: reached and migrated) before listening, so a
    damaged or unreachable database stops the start with one line."""
    from botframework.messenger.store_url import open_store

    store = open_store(settings.store_url, settings.state_dir, settings.claim_timeout)
    if store.shared:
        from botframework.messenger.postgres_store import check_reachable

        asyncio.run(check_reachable(settings.store_url or ""))
    return store


def main(argv: list[str] | None = None) -> int:
    """``python -m botframework.messenger COMMAND ...`` (the same commands as the main CLI)."""
    parser = argparse.ArgumentParser(prog="python -m botframework.messenger")
    add_serve_commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    from botframework.cli.errors import run_handler

    return run_handler(args)
