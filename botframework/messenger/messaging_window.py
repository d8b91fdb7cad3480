"""Meta's 24-hour messaging window: a ``RESPONSE`` goes out only within 24 hours of the user's
last message, so an event that waited longer (an outage, a long rate limit) is not answered.

The window is measured from the earlier of Meta's ``timestamp`` and the time the server received
the event; a ``timestamp`` more than :data:`REDELIVERY_SPAN_S` before receipt is not trusted
(Meta redelivers for about an hour, then disables the webhook).
"""

from __future__ import annotations

import time

from botframework.messenger.backoff import MESSAGING_WINDOW_S
from botframework.messenger.store import StoredEvent

REDELIVERY_SPAN_S = 2 * 3600.0


class OutsideMessagingWindow(Exception):
    """Answering now would break Meta's 24-hour window; the event ends as failed."""


def user_message_at(stored: StoredEvent) -> float:
    """When the user wrote, in epoch seconds (see the module docstring)."""
    sent = stored.timestamp / 1000
    trusted = stored.received_at - REDELIVERY_SPAN_S <= sent <= stored.received_at
    return sent if trusted else stored.received_at


def window_closes_at(stored: StoredEvent) -> float:
    return user_message_at(stored) + MESSAGING_WINDOW_S


def check_window(stored: StoredEvent, now: float | None = None) -> None:
    """Raise :class:`OutsideMessagingWindow` once the window for ``stored`` has closed."""
    now = time.time() if now is None else now
    late = now - window_closes_at(stored)
    if late >= 0:
        raise OutsideMessagingWindow(
            f"event {stored.key} is {(now - user_message_at(stored)) / 3600:.1f} h old; Meta "
            "allows a RESPONSE only within 24 h of the user's message"
        )
