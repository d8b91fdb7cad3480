"""Read a bot YAML: ``${ENV}`` substitution, ``--set`` overrides, validation with precise errors."""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from botframework.config.schema import BotConfig

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
#: How much larger than written aliases may make a bot YAML (a few copies of a section are fine).
MAX_ALIAS_EXPANSION = 1_000_000


class ConfigError(ValueError):
    """A bot definition is invalid; the message names the file, the key path and the problem."""


@dataclass
class BotDefinition:
    """A validated bot YAML and where it lives."""

    config: BotConfig
    path: Path
    #: The environment's values that ``${VAR}`` put into the file: errors never show them.
    from_env: frozenset[str] = frozenset()
    #: The key paths ``--set`` gave a value (``"model.source_cache"``), as written.
    overridden: frozenset[str] = frozenset()

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
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    raw.setdefault("name", path.stem)
    overridden = set()
    for override in overrides:
        overridden.add(apply_override(raw, override, path))
    from_env: set[str] = set()
    raw = substitute_env(raw, path, (), from_env)
    config = validate(raw, path, from_env)
    config._from_env = frozenset(from_env)
    return BotDefinition(config, path, frozenset(from_env), frozenset(overridden))


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path``, refused before it is built if its aliases expand too far."""
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            check_alias_expansion(node, path)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None


def check_alias_expansion(root: yaml.Node, path: Path) -> None:
    """Refuse aliases (``*name``) that would expand the document far beyond its written size.

    Each node is sized once (aliases share nodes), so this takes time in the file's size. A node
    counts 1 plus, for a scalar, its length; the expanded size counts every alias as a copy.
    """
    expanded_sizes: dict[int, int] = {}
    written = 0
    open_nodes: set[int] = set()

    def expanded(node: yaml.Node) -> int:
        nonlocal written
        if id(node) in expanded_sizes:
            return expanded_sizes[id(node)]
        if id(node) in open_nodes:
            raise ConfigError(f"{path}: an alias (*name) refers to a node that contains it")
        open_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(expanded(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(expanded(key) + expanded(value) for key, value in node.value)
        else:
            size = 1 + len(node.value)
        written += size if isinstance(node, yaml.ScalarNode) else 1
        open_nodes.discard(id(node))
        expanded_sizes[id(node)] = size
        return size

    total = expanded(root)
    if total - written > MAX_ALIAS_EXPANSION:
        raise ConfigError(
            f"{path}: its aliases (*name) would expand it to {total:,} values and characters, "
            f"{total - written:,} more than written; refused beyond {MAX_ALIAS_EXPANSION:,}"
        )


def validate(raw: dict[str, Any], path: Path, from_env: Collection[str] = ()) -> BotConfig:
    """The validated configuration; errors never show values that came from ``from_env``."""
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as error:
        lines = (describe_error(path, e, from_env) for e in error.errors())
        raise ConfigError("\n".join(lines)) from None


def describe_error(path: Path, error: dict[str, Any], from_env: Collection[str] = ()) -> str:
    """One pydantic error as ``<path>: <key.path>: expected ..., got ...``, never showing a value
    that came from ``from_env``."""
    location = ".".join(str(part) for part in error["loc"] if part not in ("args",))
    kind = error["type"]
    given = error.get("input")
    if kind == "extra_forbidden":
        return f"{path}: {location}: unknown key"
    if kind == "missing":
        return f"{path}: {location}: required key is missing"
    if kind == "too_long":
        context = error.get("ctx", {})
        limit, actual = context.get("max_length"), context.get("actual_length")
        return f"{path}: {location}: at most {limit} items allowed, got {actual}"
    return f"{path}: {location}: {_expectation(error, from_env)}, got {_show(given, from_env)}"


def _expectation(error: dict[str, Any], from_env: Collection[str]) -> str:
    kind, context = error["type"], error.get("ctx", {})
    if kind == "string_pattern_mismatch":
        pattern = context.get("pattern", "")
        return _PATTERNS.get(pattern, f"expected text matching {pattern}")
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return expected.format(**context) if "{" in expected else expected
    expected = error["msg"][0].lower() + error["msg"][1:]
    return "invalid value" if _reveals(expected, from_env) else expected


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
    "string_too_long": "expected at most {max_length} characters",
}

#: What the schema's patterns accept, in words.
_PATTERNS = {
    r"^[A-Za-z0-9_.-]+$": "expected letters, digits, '_', '.' or '-'",
    r"^[0-9]+$": "expected digits only",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "expected a variable name (letters, digits, '_')",
}


def _show(value: Any, from_env: Collection[str]) -> str:
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    return "a value from the environment (not shown)" if _reveals(shown, from_env) else shown


def _reveals(text: str, from_env: Collection[str]) -> bool:
    return any(secret and secret in text for secret in from_env)


def substitute_env(
    value: Any, path: Path, keys: tuple[str, ...], from_env: set[str] | None = None
) -> Any:
    """Replace ``${VAR}`` (an error when unset) and ``${VAR:-default}`` in every string.

    The environment's values used are added to ``from_env`` (so errors can leave them out).
    """
    if isinstance(value, dict):
        return {k: substitute_env(v, path, (*keys, str(k)), from_env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, path, (*keys, str(i)), from_env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            if from_env is not None:
                from_env.add(os.environ[name])
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: {'.'.join(keys)}: environment variable {name} is not set")

    return _ENV_PATTERN.sub(lookup, value)


def apply_override(raw: dict[str, Any], override: str, path: Path) -> str:
    """Apply one ``key.path=value`` (the value is read as YAML: numbers, booleans, lists); return
    the key path."""
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
    return key_path
