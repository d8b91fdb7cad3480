"""What the stand-in Graph API checks in a ``message`` object, as Meta documents it: ``text``
(at most 2000 characters) or an ``attachment``, never both; media by URL; button templates
(text ≤ 640, 1 to 3 buttons) and generic templates (1 to 10 elements, title and subtitle ≤ 80,
≤ 3 buttons); at most 13 quick replies (title ≤ 20, payload ≤ 1000).

Written from the documentation, not from the framework's own limits, so it can catch them."""

from __future__ import annotations

from typing import Any

MEDIA = {"image", "audio", "video", "file"}


def message_problem(message: Any) -> str | None:
    """What is wrong with ``message``, or None."""
    if not isinstance(message, dict):
        return "message is required"
    if ("text" in message) == ("attachment" in message):
        return "message must have exactly one of text and attachment"
    if "text" in message:
        problem = _text_problem(message["text"], 2000, "message[text]")
    else:
        problem = _attachment_problem(message["attachment"])
    return problem or _quick_replies_problem(message.get("quick_replies"))


def _text_problem(text: Any, limit: int, name: str) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return f"param {name} must be a non-empty string"
    if len(text.encode("utf-16-le")) // 2 > limit:
        return f"param {name} must be UTF-8 encoded text of at most {limit} characters"
    return None


def _attachment_problem(attachment: Any) -> str | None:
    if not isinstance(attachment, dict) or not isinstance(attachment.get("payload"), dict):
        return "attachment needs a type and a payload object"
    kind, payload = attachment.get("type"), attachment["payload"]
    if kind in MEDIA:
        url = payload.get("url")
        return None if isinstance(url, str) and url.startswith("http") else "media needs a url"
    if kind != "template":
        return f"attachment type {kind!r} is not supported"
    if payload.get("template_type") == "button":
        return _text_problem(payload.get("text"), 640, "payload[text]") or _buttons_problem(
            payload.get("buttons"), required=True
        )
    if payload.get("template_type") == "generic":
        return _elements_problem(payload.get("elements"))
    return "template_type must be button or generic"


def _buttons_problem(buttons: Any, required: bool) -> str | None:
    if buttons is None and not required:
        return None
    if not isinstance(buttons, list) or not (1 <= len(buttons) <= 3):
        return "a template takes 1 to 3 buttons"
    for button in buttons:
        title = button.get("title")
        if not isinstance(title, str) or not 1 <= len(title) <= 20:
            return "a button title must be 1 to 20 characters"
        if button.get("type") == "postback":
            if not 1 <= len(str(button.get("payload") or "")) <= 1000:
                return "a postback button payload must be 1 to 1000 characters"
        elif button.get("type") == "web_url":
            if not str(button.get("url") or "").startswith("http"):
                return "a web_url button needs a url"
        else:
            return "a button type must be postback or web_url"
    return None


def _elements_problem(elements: Any) -> str | None:
    if not isinstance(elements, list) or not (1 <= len(elements) <= 10):
        return "a generic template takes 1 to 10 elements"
    for element in elements:
        title, subtitle = element.get("title"), element.get("subtitle", "")
        if not isinstance(title, str) or not 1 <= len(title) <= 80 or len(subtitle) > 80:
            return "an element's title (1 to 80) and subtitle (≤ 80 characters)"
        problem = _buttons_problem(element.get("buttons"), required=False)
        if problem:
            return problem
    return None


def _quick_replies_problem(quick_replies: Any) -> str | None:
    if quick_replies is None:
        return None
    if not isinstance(quick_replies, list) or not 1 <= len(quick_replies) <= 13:
        return "quick_replies takes 1 to 13 items"
    for quick in quick_replies:
        if quick.get("content_type") != "text":
            return "a quick reply's content_type must be text"
        if not 1 <= len(str(quick.get("title") or "")) <= 20:
            return "a quick reply title must be 1 to 20 characters"
        if not 1 <= len(str(quick.get("payload") or "")) <= 1000:
            return "a quick reply payload must be 1 to 1000 characters"
    return None
