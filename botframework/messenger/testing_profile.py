"""What the stand-in Graph API checks in a ``POST /me/messenger_profile`` body, as Meta documents
it: Get Started's payload, a default-locale greeting of at most 160 characters, a persistent menu
(which needs Get Started) of 1 to 20 items, 1 to 4 ice breakers; and in a
``POST /me/pass_thread_control`` body: the recipient, a numeric target app id, optional metadata."""

from __future__ import annotations

from typing import Any


def profile_problem(body: Any, earlier: list[dict[str, Any]]) -> str | None:
    """What is wrong with ``body`` (``earlier``: the profiles already set), or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if "get_started" in body and not body["get_started"].get("payload"):
        return "get_started.payload is required"
    greeting = body.get("greeting", [])
    if greeting and (
        not any(g.get("locale") == "default" for g in greeting)
        or any(len(g.get("text", "")) > 160 for g in greeting)
    ):
        return "greeting needs a default locale and at most 160 characters"
    if "persistent_menu" in body:
        if "get_started" not in body and not any("get_started" in p for p in earlier):
            return "persistent_menu needs get_started set"
        problem = _locales_problem(body["persistent_menu"], 20, _menu_item_problem)
        if problem:
            return f"persistent_menu: {problem}"
    if "ice_breakers" in body:
        problem = _locales_problem(body["ice_breakers"], 4, _ice_breaker_problem)
        if problem:
            return f"ice_breakers: {problem}"
    return None


def _locales_problem(value: Any, limit: int, item_problem: Any) -> str | None:
    if not isinstance(value, list) or not any(
        isinstance(v, dict) and v.get("locale") == "default" for v in value
    ):
        return "needs a default locale"
    for locale in value:
        actions = locale.get("call_to_actions")
        if not isinstance(actions, list) or not 1 <= len(actions) <= limit:
            return f"call_to_actions must hold 1 to {limit} items"
        problems = [item_problem(a) for a in actions if item_problem(a)]
        if problems:
            return problems[0]
    return None


def _menu_item_problem(item: Any) -> str | None:
    if not isinstance(item, dict) or not item.get("title"):
        return "every menu item needs a title"
    needed = {"postback": "payload", "web_url": "url"}.get(item.get("type"))
    if needed is None or not item.get(needed):
        return "a menu item is a postback with a payload or a web_url with a url"
    return None


def _ice_breaker_problem(item: Any) -> str | None:
    if not isinstance(item, dict) or set(item) != {"question", "payload"}:
        return "an ice breaker is {question, payload}"
    return None


def handover_problem(body: Any) -> str | None:
    """What is wrong with a ``pass_thread_control`` body, or None."""
    if not isinstance(body, dict) or not set(body) <= {"recipient", "target_app_id", "metadata"}:
        return "pass_thread_control takes recipient, target_app_id and metadata only"
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not isinstance(recipient.get("id"), str):
        return "recipient.id is required"
    if not str(body.get("target_app_id", "")).isdigit():
        return "target_app_id must be an app id"
    metadata = body.get("metadata", "")
    if not isinstance(metadata, str) or len(metadata) > 1000:
        return "metadata must be a string of at most 1000 characters"
    return None
