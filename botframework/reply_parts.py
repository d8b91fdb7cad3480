"""The structured parts of a reply: quick replies, buttons, a media attachment, a generic template,
and a handover to another app after it is sent.

Each part checks Meta's limits when it is built, so a plugin that breaks one fails at once with a
message naming the limit, not later at the Send API. :func:`parts_to_dict` / :func:`parts_from_dict`
keep them in the store.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_TEXT = 640
MAX_ELEMENTS = 10
MAX_ELEMENT_TEXT = 80
BUTTON_TYPES = ("postback", "web_url")
MEDIA_TYPES = ("image", "audio", "video", "file")
#: The Page inbox's app id: where a person answers in Meta Business Suite.
PAGE_INBOX_APP_ID = "263902037430900"


def check_length(what: str, value: str, limit: int) -> None:
    if not value or len(value) > limit:
        shown = value[:40]
        raise ValueError(f"{what} must be 1 to {limit} characters, got {len(value)}: {shown!r}")


def check_count(what: str, items: list[Any] | tuple[Any, ...], limit: int) -> None:
    if len(items) > limit:
        raise ValueError(f"at most {limit} {what} are allowed, got {len(items)}")


def check_url(what: str, url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{what} must be an http(s) URL, got {url[:60]!r}")


@dataclass(frozen=True)
class QuickReply:
    """A tappable suggestion under the message; a tap sends ``payload`` back."""

    title: str
    payload: str

    def __post_init__(self) -> None:
        check_length("a quick reply title", self.title, MAX_QUICK_REPLY_TITLE)
        check_length("a quick reply payload", self.payload, MAX_PAYLOAD)


@dataclass(frozen=True)
class Button:
    """A ``postback`` button (sends ``payload``) or a ``web_url`` button (opens ``url``)."""

    title: str
    type: str = "postback"
    payload: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        check_length("a button title", self.title, MAX_BUTTON_TITLE)
        if self.type not in BUTTON_TYPES:
            raise ValueError(f"a button type must be one of {BUTTON_TYPES}, got {self.type!r}")
        if self.type == "postback":
            check_length("a postback button payload", self.payload or "", MAX_PAYLOAD)
        else:
            check_url("a web_url button url", self.url or "")


@dataclass(frozen=True)
class Media:
    """One image, audio, video or file sent by URL."""

    type: str
    url: str

    def __post_init__(self) -> None:
        if self.type not in MEDIA_TYPES:
            raise ValueError(f"a media type must be one of {MEDIA_TYPES}, got {self.type!r}")
        check_url(f"the {self.type} url", self.url)


@dataclass(frozen=True)
class Element:
    """One card of a generic template (carousel)."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = ()

    def __post_init__(self) -> None:
        check_length("a generic template element title", self.title, MAX_ELEMENT_TEXT)
        if self.subtitle is not None:
            check_length("a generic template element subtitle", self.subtitle, MAX_ELEMENT_TEXT)
        if self.image_url is not None:
            check_url("an element image_url", self.image_url)
        object.__setattr__(self, "buttons", tuple(self.buttons))
        check_count("buttons per generic template element", self.buttons, MAX_BUTTONS)


@dataclass(frozen=True)
class Handover:
    """Pass the conversation to another app after the reply is sent (Messenger's handover
    protocol, ``POST /me/pass_thread_control``); the Page inbox is app 263902037430900."""

    target_app_id: str = PAGE_INBOX_APP_ID
    metadata: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_app_id", str(self.target_app_id))
        if not self.target_app_id.isdigit():
            raise ValueError(f"a target_app_id must be digits, got {self.target_app_id[:40]!r}")
        if len(self.metadata) > MAX_PAYLOAD:
            raise ValueError(
                f"handover metadata must be at most {MAX_PAYLOAD} characters, "
                f"got {len(self.metadata)}"
            )


def check_reply_parts(
    text: str | None,
    quick_replies: list[QuickReply],
    buttons: list[Button],
    elements: list[Element],
) -> None:
    """The limits on a whole reply's parts (the parts check their own)."""
    check_count("quick replies", quick_replies, MAX_QUICK_REPLIES)
    check_count("buttons in a button template", buttons, MAX_BUTTONS)
    check_count("generic template elements", elements, MAX_ELEMENTS)
    if buttons and not text:
        raise ValueError("a button template needs the reply's text (1 to 640 characters)")


def parts_to_dict(
    quick_replies: list[QuickReply],
    buttons: list[Button],
    media: Media | None,
    elements: list[Element],
    handover: Handover | None = None,
) -> dict[str, Any]:
    return {
        "quick_replies": [asdict(q) for q in quick_replies],
        "buttons": [asdict(b) for b in buttons],
        "media": asdict(media) if media else None,
        "elements": [asdict(e) for e in elements],
        "handover": asdict(handover) if handover else None,
    }


def parts_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for :class:`~botframework.pipeline.Reply` from :func:`parts_to_dict`."""
    return {
        "quick_replies": [QuickReply(**q) for q in data.get("quick_replies") or []],
        "buttons": [Button(**b) for b in data.get("buttons") or []],
        "media": Media(**data["media"]) if data.get("media") else None,
        "handover": Handover(**data["handover"]) if data.get("handover") else None,
        "elements": [
            Element(**{**e, "buttons": tuple(Button(**b) for b in e.get("buttons") or ())})
            for e in data.get("elements") or []
        ],
    }
