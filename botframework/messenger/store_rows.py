"""Events as table rows and back, the same for every database engine.

What no engine can keep (an integer past 64 bits, a lone UTF-16 surrogate, a value JSON cannot
encode) is refused here as :class:`UnstorableEvent`, before any shared write.
"""

from __future__ import annotations

import json
from typing import Any

from botframework.messenger.payload import fits_in_64_bits
from botframework.messenger.store import NewEvent, StoredEvent, UnstorableEvent

#: The inbox columns an accepted event fills, ``received_at`` aside, in :data:`INSERTED` order.
InboxRow = tuple[str, str, str, str, str, int, str]
INSERTED = "key, bot, page_id, user_id, kind, timestamp, event"
#: The inbox columns :func:`stored_event` reads, in order.
SELECTED = "id, key, bot, user_id, kind, timestamp, event, page_id, received_at, reply, parts_sent"

#: What a value JSON cannot encode, or a column cannot hold, raises.
ENCODING_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    OverflowError,
    RecursionError,
)


def inbox_rows(events: list[NewEvent]) -> list[InboxRow]:
    """The inbox columns of ``events``; :class:`UnstorableEvent` when one cannot be stored."""
    rows = []
    for event in events:
        try:
            row = (
                event.key,
                event.bot,
                event.page_id,
                event.user_id,
                event.kind,
                event.timestamp,
                json.dumps(event.event, ensure_ascii=False),
            )
            check_storable(row)
        except ENCODING_ERRORS as error:
            raise UnstorableEvent(f"event {event.key[:80]!a}: {error}") from error
        rows.append(row)
    return rows


def check_storable(row: InboxRow) -> None:
    for value in row:
        if isinstance(value, str):
            value.encode()  # a lone surrogate raises here
        elif isinstance(value, int) and not fits_in_64_bits(value):
            raise OverflowError("integer does not fit in 64 bits")


def as_unstorable(error: Exception, data_errors: tuple[type[Exception], ...]) -> Exception:
    """One of ``data_errors`` as :class:`UnstorableEvent`; anything else (disk, locks) as it is."""
    if isinstance(error, data_errors) and not isinstance(error, UnstorableEvent):
        unstorable = UnstorableEvent(str(error))
        unstorable.__cause__ = error
        return unstorable
    return error


def accepted_event(event: NewEvent, event_id: int, received_at: float) -> StoredEvent:
    """``event`` as the inbox holds it once inserted."""
    return StoredEvent(
        event_id,
        event.key,
        event.bot,
        event.user_id,
        event.kind,
        event.timestamp,
        event.event,
        event.page_id,
        received_at,
    )


def stored_event(row: tuple[Any, ...]) -> StoredEvent:
    """The event in an inbox row of the :data:`SELECTED` columns."""
    (id_, key, bot, user_id, kind, timestamp, event, page_id, received_at, reply, parts) = row
    return StoredEvent(
        id_,
        key,
        bot,
        user_id,
        kind,
        timestamp,
        json.loads(event),
        page_id,
        received_at,
        reply,
        parts,
    )
