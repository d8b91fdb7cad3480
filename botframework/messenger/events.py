"""Webhook payloads parsed into typed events; partial or odd events become :class:`Unknown`.

Only :class:`UserMessage` and :class:`Postback` events are answered (a :class:`Sticker` is not);
every other kind goes to the ``handle_event`` hook.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botframework.messenger.payload import fits_in_64_bits


@dataclass(frozen=True)
class Attachment:
    type: str
    url: str | None = None
    sticker_id: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """One item of an entry's ``messaging`` (or ``standby``/``changes``) array."""

    kind: ClassVar[str] = "unknown"
    answerable: ClassVar[bool] = False

    page_id: str
    sender_id: str | None
    timestamp: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def user_id(self) -> str | None:
        """The person this event is about (its sender, except for an echo)."""
        return self.sender_id

    @property
    def key(self) -> str:
        """What identifies this event across Meta's re-deliveries (the dedupe key)."""
        canonical = json.dumps([self.page_id, self.raw], sort_keys=True, default=str)
        return f"{self.kind}:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class UserMessage(WebhookEvent):
    """A message a person sent to the Page: text, attachments, or a quick-reply tap."""

    kind: ClassVar[str] = "text"
    answerable: ClassVar[bool] = True

    mid: str = ""
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    payload: str | None = None

    @property
    def key(self) -> str:
        return f"mid:{self.mid}"


@dataclass(frozen=True)
class QuickReply(UserMessage):
    kind: ClassVar[str] = "quick_reply"


@dataclass(frozen=True)
class AttachmentMessage(UserMessage):
    kind: ClassVar[str] = "attachments"


@dataclass(frozen=True)
class Sticker(UserMessage):
    """A sticker, the 👍 "like" included (``sticker_id`` 369239263222822 and its sizes); it goes
    to ``handle_event`` instead of getting ``channel.attachment_reply``."""

    kind: ClassVar[str] = "sticker"
    answerable: ClassVar[bool] = False

    @property
    def sticker_id(self) -> str:
        return next((a.sticker_id for a in self.attachments if a.sticker_id), "")


@dataclass(frozen=True)
class Postback(WebhookEvent):
    """A button tap: ``Get Started``, a persistent-menu item, a template button."""

    kind: ClassVar[str] = "postback"
    answerable: ClassVar[bool] = True

    mid: str | None = None
    title: str = ""
    payload: str = ""

    @property
    def key(self) -> str:
        if self.mid:
            return f"mid:{self.mid}"
        return super().key


@dataclass(frozen=True)
class Echo(WebhookEvent):
    """A copy of a message the Page itself sent; never answered (that would loop).

    ``app_id`` is the app that sent it (empty when a person wrote from the Page); the event is
    about the person it was sent to.
    """

    kind: ClassVar[str] = "echo"
    mid: str = ""
    app_id: str = ""

    @property
    def user_id(self) -> str | None:
        recipient = self.raw.get("recipient")
        return _text(recipient.get("id")) or None if isinstance(recipient, dict) else None


#: The handover protocol's events, by the key that holds their details.
THREAD_CONTROL_KINDS = ("pass_thread_control", "take_thread_control", "request_thread_control")


@dataclass(frozen=True)
class ThreadControl(WebhookEvent):
    """A handover-protocol event, of kind ``pass_thread_control`` (control passed to
    ``new_owner_app_id``), ``take_thread_control`` (sent to the app that lost control) or
    ``request_thread_control`` (``requested_owner_app_id`` asks the owner for control); the app
    ids are in the raw ``data``."""

    control: str = THREAD_CONTROL_KINDS[0]

    @property  # type: ignore[override]
    def kind(self) -> str:  # type: ignore[override]
        return self.control


@dataclass(frozen=True)
class Delivery(WebhookEvent):
    kind: ClassVar[str] = "delivery"
    mids: tuple[str, ...] = ()
    watermark: int = 0


@dataclass(frozen=True)
class Read(WebhookEvent):
    kind: ClassVar[str] = "read"
    watermark: int = 0


@dataclass(frozen=True)
class Reaction(WebhookEvent):
    kind: ClassVar[str] = "reaction"
    mid: str = ""
    reaction: str = ""
    emoji: str = ""
    action: str = ""


@dataclass(frozen=True)
class Standby(WebhookEvent):
    """An event for a thread another app controls (handover protocol); never answered."""

    kind: ClassVar[str] = "standby"


@dataclass(frozen=True)
class Change(WebhookEvent):
    """An entry's ``changes`` item (Page feed and other field subscriptions)."""

    kind: ClassVar[str] = "change"
    field_name: str = ""


@dataclass(frozen=True)
class Unknown(WebhookEvent):
    kind: ClassVar[str] = "unknown"
    reason: str = ""


def parse_body(body: dict[str, Any]) -> list[WebhookEvent]:
    """Every event of every entry, in order; never raises on odd content."""
    entries = body.get("entry")
    if not isinstance(entries, list):
        return []
    return [event for entry in entries if isinstance(entry, dict) for event in _entry_events(entry)]


def _entry_events(entry: dict[str, Any]) -> Iterator[WebhookEvent]:
    page_id = _text(entry.get("id"))
    for item in _dicts(entry.get("messaging")):
        yield parse_messaging(page_id, item)
    for item in _dicts(entry.get("standby")):
        yield Standby(page_id, _sender(item), _int(item.get("timestamp")), item)
    for item in _dicts(entry.get("changes")):
        yield Change(page_id, None, _int(entry.get("time")), item, _text(item.get("field")))


def event_from_row(kind: str, page_id: str, raw: dict[str, Any], timestamp: int) -> WebhookEvent:
    """The typed event a stored row holds (after a restart); its ``kind`` says which array of
    the entry it came from."""
    if kind == Standby.kind:
        return Standby(page_id, _sender(raw), timestamp, raw)
    if kind == Change.kind:
        return Change(page_id, None, timestamp, raw, _text(raw.get("field")))
    return parse_messaging(page_id, raw)


def parse_messaging(page_id: str, item: dict[str, Any]) -> WebhookEvent:
    """One ``messaging`` item as its typed event."""
    try:
        return _parse_messaging(page_id, item)
    except (TypeError, ValueError, AttributeError) as error:
        return Unknown(page_id, _sender(item), _int(item.get("timestamp")), item, str(error))


def _parse_messaging(page_id: str, item: dict[str, Any]) -> WebhookEvent:
    sender, timestamp = _sender(item), _int(item.get("timestamp"))
    common = (page_id, sender, timestamp, item)
    message = item.get("message")
    if isinstance(message, dict):
        mid = _text(message.get("mid"))
        if message.get("is_echo"):
            return Echo(*common, mid=mid, app_id=_text(message.get("app_id")))
        if not mid or not sender:
            return Unknown(*common, reason="message without mid or sender")
        text = message.get("text") if isinstance(message.get("text"), str) else ""
        attachments = tuple(_attachments(message.get("attachments")))
        quick_reply = message.get("quick_reply")
        if isinstance(quick_reply, dict):
            return QuickReply(*common, mid, text, attachments, _text(quick_reply.get("payload")))
        if attachments and not text.strip():
            if any(attachment.sticker_id for attachment in attachments):
                return Sticker(*common, mid, text, attachments)
            return AttachmentMessage(*common, mid, text, attachments)
        return UserMessage(*common, mid, text, attachments)
    postback = item.get("postback")
    if isinstance(postback, dict) and sender:
        return Postback(
            *common,
            mid=_text(postback.get("mid")) or None,
            title=_text(postback.get("title")),
            payload=_text(postback.get("payload")),
        )
    for control in THREAD_CONTROL_KINDS:
        if isinstance(item.get(control), dict) and sender:
            return ThreadControl(*common, control=control)
    delivery = item.get("delivery")
    if isinstance(delivery, dict):
        mids = tuple(_text(mid) for mid in delivery.get("mids") or [] if mid)
        return Delivery(*common, mids=mids, watermark=_int(delivery.get("watermark")))
    if isinstance(item.get("read"), dict):
        return Read(*common, watermark=_int(item["read"].get("watermark")))
    reaction = item.get("reaction")
    if isinstance(reaction, dict):
        return Reaction(
            *common,
            mid=_text(reaction.get("mid")),
            reaction=_text(reaction.get("reaction")),
            emoji=_text(reaction.get("emoji")),
            action=_text(reaction.get("action")),
        )
    return Unknown(*common, reason="unrecognised messaging event")


def _attachments(value: Any) -> Iterator[Attachment]:
    for item in _dicts(value):
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        url = payload.get("url")
        yield Attachment(
            _text(item.get("type")) or "unknown",
            url if isinstance(url, str) else None,
            _text(payload.get("sticker_id")) or None,
        )


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _sender(item: dict[str, Any]) -> str | None:
    sender = item.get("sender")
    return _text(sender.get("id")) or None if isinstance(sender, dict) else None


def _text(value: Any) -> str:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""


def _int(value: Any) -> int:
    """``value`` as a 64-bit integer (what SQLite stores); 0 when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return number if fits_in_64_bits(number) else 0
