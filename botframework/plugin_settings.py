"""Plugins' own YAML settings: the ``settings`` section of a bot YAML, one key per plugin section.

A plugin declares a section with the ``register_settings`` hook, ``register("blocklist",
BlocklistSettings)`` (a pydantic model); the bot YAML sets it under ``settings: {blocklist: ...}``.
Every registered section is validated when the bot's plugins load (an absent one gets its model's
defaults), with the same error messages as the core schema; a section no plugin registered is an
error, and so is a key its model does not declare. Hooks read the validated model with
``conversation.settings("blocklist")``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from botframework.config.loader import ConfigError, describe_error
from botframework.plugins import PartRegistry


def collect_settings_models(hook: pluggy.HookRelay) -> PartRegistry:
    """The settings models the plugins behind ``hook`` register, by section name."""
    models = PartRegistry("settings section")
    hook.register_settings(register=models.register)
    for name, model in models.factories.items():
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigError(
                f"settings section {name!r}: a plugin registered {model!r}, not a pydantic model"
            )
    return models


def validate_settings(
    hook: pluggy.HookRelay, raw: Mapping[str, Any], path: Path, from_env: Collection[str] = ()
) -> dict[str, BaseModel]:
    """Every registered section of ``raw`` (the YAML's ``settings``), validated, by name; errors
    never show the values in ``from_env`` (those ``${VAR}`` substituted).

    A :class:`ConfigError` names each bad key as ``<path>: settings.<section>.<key>: ...``.
    """
    models = collect_settings_models(hook).factories
    unknown = sorted(set(raw) - set(models))
    if unknown:
        known = ", ".join(sorted(models)) or "(none)"
        raise ConfigError(
            f"{path}: settings.{unknown[0]}: unknown section; registered sections: {known}"
        )
    sections, problems = {}, []
    for name, model in sorted(models.items()):
        value = {} if raw.get(name) is None else raw[name]
        unknown_keys = _unknown(model, value)
        problems += [f"{path}: settings.{name}.{key}: unknown key" for key in unknown_keys]
        try:
            sections[name] = model.model_validate(value)
        except ValidationError as error:
            for problem in error.errors():
                located = {**problem, "loc": ("settings", name, *problem["loc"])}
                problems.append(describe_error(path, located, from_env))
    if problems:
        raise ConfigError("\n".join(dict.fromkeys(problems)))
    return sections


def _unknown(model: type[BaseModel], value: object) -> list[str]:
    """Keys the model does not declare (pydantic would drop them silently unless it allows them)."""
    if not isinstance(value, Mapping) or model.model_config.get("extra") == "allow":
        return []
    known = {name for name in model.model_fields}
    known |= {field.alias for field in model.model_fields.values() if field.alias}
    return [str(key) for key in value if key not in known]
