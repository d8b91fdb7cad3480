"""A reply as the Send API messages that carry it, in Meta's shapes, in sending order.

Long text is split; buttons turn the last text part into a button template (its text ≤ 640
characters); media and a generic template follow as messages of their own (a message carries text
or an attachment, never both); quick replies go on the last message.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from botframework.messenger.text import split_message
from botframework.pipeline import Reply
from botframework.reply_parts import MAX_BUTTON_TEXT, Button, Element


def messages_for(reply: Reply) -> list[dict[str, Any]]:
    """The ``message`` objects to send for ``reply``; empty when it sends nothing."""
    parts = split_message(reply.text) if reply.text else []
    if reply.buttons and parts:
        parts = parts[:-1] + split_message(parts[-1], MAX_BUTTON_TEXT)
    messages: list[dict[str, Any]] = [{"text": part} for part in parts]
    if reply.buttons and messages:
        messages[-1] = _template("button", text=parts[-1], buttons=_buttons(reply.buttons))
    if reply.media is not None:
        media = {"url": reply.media.url, "is_reusable": True}
        messages.append({"attachment": {"type": reply.media.type, "payload": media}})
    if reply.elements:
        messages.append(_template("generic", elements=[_element(e) for e in reply.elements]))
    if reply.quick_replies and messages:
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": q.title, "payload": q.payload}
            for q in reply.quick_replies
        ]
    return messages


def _template(template_type: str, **fields: Any) -> dict[str, Any]:
    payload = {"template_type": template_type, **fields}
    return {"attachment": {"type": "template", "payload": payload}}


def _buttons(buttons: list[Button] | tuple[Button, ...]) -> list[dict[str, str]]:
    return [{k: v for k, v in asdict(b).items() if v is not None} for b in buttons]


def _element(element: Element) -> dict[str, Any]:
    shape: dict[str, Any] = {"title": element.title}
    if element.subtitle:
        shape["subtitle"] = element.subtitle
    if element.image_url:
        shape["image_url"] = element.image_url
    if element.buttons:
        shape["buttons"] = _buttons(element.buttons)
    return shape
