"""Read a bot YAML: ``${ENV}`` substitution, ``--set`` overrides, validation with precise errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from botframework.config.schema import BotConfig

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A bot definition is invalid; the message names the file, the key path and the problem."""


@dataclass
class BotDefinition:
    """A validated bot YAML and where it lives."""

    config: BotConfig
    path: Path

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def workspace(self) -> Path:
        """Where training writes (vocabulary, checkpoints, logs): ``works/<name>/`` by default."""
        if self.config.workspace:
            return self.resolve(self.config.workspace)
        return Path("works") / self.config.name

    @property
    def shipped_dir(self) -> Path:
        """Where a model shipped with the repo lives: ``bots/<name>/`` beside the YAML."""
        return self.directory / self.config.name

    def resolve(self, relative: str) -> Path:
        """A path from the YAML, relative to the YAML's folder."""
        path = Path(os.path.expanduser(relative))
        return path if path.is_absolute() else self.directory / path


def load_definition(path: str | Path, overrides: Iterable[str] = ()) -> BotDefinition:
    """Load, substitute, override and validate a bot YAML."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such bot definition file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    raw.setdefault("name", path.stem)
    for override in overrides:
        apply_override(raw, override, path)
    raw = substitute_env(raw, path, ())
    return BotDefinition(validate(raw, path), path)


def validate(raw: dict[str, Any], path: Path) -> BotConfig:
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError("\n".join(_describe(path, e) for e in error.errors())) from None


def _describe(path: Path, error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if part not in ("args",))
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{path}: {location}: unknown key"
    if kind == "missing":
        return f"{path}: {location}: required key is missing"
    expected = _EXPECTED.get(kind)
    if expected is None:
        expected = error["msg"][0].lower() + error["msg"][1:]
    elif "{" in expected:
        expected = expected.format(**error.get("ctx", {}))
    return f"{path}: {location}: {expected}, got {_show(given)}"


_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "model_type": "expected a mapping",
    "greater_than": "expected a number greater than {gt}",
    "greater_than_equal": "expected a number of at least {ge}",
    "less_than": "expected a number less than {lt}",
    "less_than_equal": "expected a number of at most {le}",
    "literal_error": "expected one of {expected}",
    "string_too_short": "expected a non-empty string",
    "string_pattern_mismatch": "expected letters, digits, '_', '.' or '-'",
}


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def substitute_env(value: Any, path: Path, keys: tuple[str, ...]) -> Any:
    """Replace ``${VAR}`` (an error when unset) and ``${VAR:-default}`` in every string."""
    if isinstance(value, dict):
        return {k: substitute_env(v, path, (*keys, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, path, (*keys, str(i))) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: {'.'.join(keys)}: environment variable {name} is not set")

    return _ENV_PATTERN.sub(lookup, value)


def apply_override(raw: dict[str, Any], override: str, path: Path) -> None:
    """Apply one ``key.path=value`` (the value is read as YAML: numbers, booleans, lists)."""
    key_path, sep, text = override.partition("=")
    if not sep or not key_path:
        raise ConfigError(f"--set {override!r}: expected KEY.PATH=VALUE")
    try:
        value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        value = text
    keys = key_path.split(".")
    node: Any = raw
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                where = ".".join(keys[:depth])
                raise ConfigError(f"--set {key_path}: {where} has no item {key}")
            key = int(key)
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {key_path}: {'.'.join(keys[:depth])} is not a section")
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and not isinstance(node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
