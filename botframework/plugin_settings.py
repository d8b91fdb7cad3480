"""Plugins' own YAML settings: the ``settings`` section of a bot YAML, one key per plugin section.

A plugin declares a section with the ``register_settings`` hook, ``register("blocklist",
BlocklistSettings)`` (a pydantic model); the bot YAML sets it under ``settings: {blocklist: ...}``.
Every registered section is validated when the bot's plugins load (an absent one gets its model's
defaults), with the same error messages as the core schema; a section no plugin registered is an
error, and so is a key its model does not declare. Hooks read the validated model with
``conversation.settings("blocklist")``.

A section registered as ``channel.<key>`` lives under the YAML's ``channel`` instead (channel
behaviour such as ``channel.canned``); the core ``channel`` schema keeps the keys it does not know
for these sections, and one that no plugin registers is an unknown key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pluggy
from pydantic import BaseModel, RootModel, ValidationError

from botframework.config.loader import ConfigError, describe_error
from botframework.config.schema import ChannelConfig
from botframework.plugins import PartRegistry


#: Sections registered under this prefix live under the YAML's ``channel``, not ``settings``.
CHANNEL_PREFIX = "channel."


def collect_settings_models(hook: pluggy.HookRelay) -> PartRegistry:
    """The settings models the plugins behind ``hook`` register, by section name."""
    models = PartRegistry("settings section")
    hook.register_settings(register=models.register)
    for name, model in models.factories.items():
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(
                f"settings section {name!r}: a plugin registered {model!r}, not a pydantic model"
            )
        key = name.removeprefix(CHANNEL_PREFIX)
        if name.startswith(CHANNEL_PREFIX) and ("." in key or key in ChannelConfig.model_fields):
            raise ConfigError(
                f"settings section {name!r}: channel sections are channel.<key>, with a key the "
                "core channel schema does not use"
            )
    return models


def validate_settings(
    hook: pluggy.HookRelay,
    raw: Mapping[str, Any],
    path: Path,
    from_env: Collection[str] = (),
    channel: Mapping[str, Any] | None = None,
) -> dict[str, BaseModel]:
    """Every registered section, validated, by its registered name: from ``raw`` (the YAML's
    ``settings``), or from ``channel`` (the ``channel`` keys the core schema does not know) for a
    ``channel.<key>`` section. Errors never show the values in ``from_env`` (``${VAR}``).

    A :class:`ConfigError` names each bad key as ``<path>: settings.<section>.<key>: ...`` (or
    ``channel.<key>...``).
    """
    models = collect_settings_models(hook).factories
    channel = channel or {}
    _refuse_unregistered(models, raw, channel, path)
    sections, problems = {}, []
    for name, model in sorted(models.items()):
        in_channel = name.startswith(CHANNEL_PREFIX)
        value = channel.get(name.removeprefix(CHANNEL_PREFIX)) if in_channel else raw.get(name)
        where = tuple(name.split(".")) if in_channel else ("settings", name)
        if value is None and issubclass(model, RootModel):
            sections[name] = model()
            continue
        value = {} if value is None else value
        prefix = ".".join(where)
        problems += [f"{path}: {prefix}.{key}: unknown key" for key in _unknown(model, value)]
        try:
            sections[name] = model.model_validate(value)
        except ValidationError as error:
            for problem in error.errors():
                located = {**problem, "loc": (*where, *problem["loc"])}
                problems.append(describe_error(path, located, from_env))
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))
    return sections


def _refuse_unregistered(
    models: Mapping[str, Any], raw: Mapping[str, Any], channel: Mapping[str, Any], path: Path
) -> None:
    unknown = sorted(set(raw) - set(models))
    if unknown:
        known = ", ".join(sorted(n for n in models if not n.startswith(CHANNEL_PREFIX)))
        raise ConfigError(
            f"{path}: settings.{unknown[0]}: unknown section; registered sections: "
            f"{known or '(none)'}"
        )
    stray = sorted(key for key in channel if f"{CHANNEL_PREFIX}{key}" not in models)
    if stray:
        raise ConfigError(f"{path}: channel.{stray[0]}: unknown key")


def _unknown(model: type[BaseModel], value: object) -> list[str]:
    """Keys the model does not declare (pydantic would drop them silently unless it allows them)."""
    if not isinstance(value, Mapping) or model.model_config.get("extra") == "allow":
        return []
    known = {name for name in model.model_fields}
    known |= {field.alias for field in model.model_fields.values() if field.alias}
    return [str(key) for key in value if key not in known]
