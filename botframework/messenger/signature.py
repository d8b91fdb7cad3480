"""Webhook signatures (``X-Hub-Signature-256``) and the Send API's ``appsecret_proof``."""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Hub-Signature-256"
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is a well-formed, correct SHA-256 signature of the raw ``body`` bytes.

    Missing, malformed (``sha256``, ``sha256=``, ``foo=bar``, another algorithm) and wrong
    signatures are all simply invalid; the comparison is constant-time.
    """
    if not header or not app_secret:
        return False
    algorithm, separator, digest = header.strip().partition("=")
    if separator != "=" or algorithm.lower() != "sha256" or not _HEX_DIGEST.fullmatch(digest):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), digest.lower().encode())


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """HMAC-SHA256 of the access token keyed with the app secret, hex (Graph API's proof)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
