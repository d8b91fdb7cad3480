"""Keeping secrets out of logs: scrubbing text, a logging filter, and an access logger.

An HTTP client's error text includes the request URL with ``access_token=...`` and a default access
log records ``hub.verify_token``; everything that reaches a log goes through :func:`scrub`.
"""

from __future__ import annotations

import logging
import re
import threading

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

_SECRET_QUERY = re.compile(
    r"((?:access_token|appsecret_proof|hub\.verify_token|client_secret)(?:=|%3D|\"?:\s*\"?))"
    r"[^&\s\"',;)]+",
    re.IGNORECASE,
)
_known: set[str] = set()
_lock = threading.Lock()
MASK = "***"


def register_secret(value: str | None) -> None:
    """Scrub this exact value from every log line from now on (tokens, app secrets).

    However short: a short secret also masks innocent text that happens to match it, which is
    better than a log that shows a secret.
    """
    if value:
        with _lock:
            _known.add(value)


def scrub(text: str) -> str:
    """``text`` with token-like query parameters and every registered secret masked."""
    text = _SECRET_QUERY.sub(lambda match: match.group(1) + MASK, text)
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class ScrubbingFilter(logging.Filter):
    """Formats a record's message once, scrubbed, so handlers never see a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def install_scrubbing(logger: logging.Logger | None = None) -> None:
    """Add :class:`ScrubbingFilter` to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())


class ScrubbingAccessLogger(AbstractAccessLogger):
    """``remote "METHOD /path?query" status bytes time`` with secrets in the query masked."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.4fs',
            request.remote,
            request.method,
            scrub(request.path_qs),
            response.status,
            response.body_length,
            time,
        )
