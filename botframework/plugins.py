"""Building the plugin manager and collecting the named parts plugins register."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from botframework import hookspecs
from botframework.config.loader import BotDefinition, ConfigError

#: Built-in plugins, registered like third-party ones under these names (block them by name).
BUILTIN_PLUGINS: dict[str, str] = {
    "tokenizers.word": "botframework_plugins.tokenizers.word",
    "tokenizers.subword": "botframework_plugins.tokenizers.subword",
    "tokenizers.jieba": "botframework_plugins.tokenizers.jieba_words",
    "corpora.twitter": "botframework_plugins.corpora.twitter",
    "corpora.chitchat": "botframework_plugins.corpora.chitchat",
    "corpora.pairs": "botframework_plugins.corpora.pairs",
    "decoders.greedy": "botframework_plugins.decoders.greedy",
    "pipeline.blocklist": "botframework_plugins.pipeline.blocklist",
    "pipeline.canned": "botframework_plugins.pipeline.canned",
    "pipeline.handover": "botframework_plugins.pipeline.handover",
    "transports.aiohttp": "botframework_plugins.transports.aiohttp_send",
    "transports.pymessenger": "botframework_plugins.transports.pymessenger_send",
    "decoders.beam": "botframework_plugins.decoders.beam",
    "decoders.sampling": "botframework_plugins.decoders.sampling",
    "rescorers.antilm": "botframework_plugins.rescorers.antilm",
    "rescorers.length_bonus": "botframework_plugins.rescorers.length_bonus",
    "rescorers.mmi_bidi": "botframework_plugins.rescorers.mmi_bidi",
    "rescorers.no_copy": "botframework_plugins.rescorers.no_copy",
    "rescorers.unprompted": "botframework_plugins.rescorers.unprompted",
    "rescorers.no_repeat_ngram": "botframework_plugins.rescorers.no_repeat_ngram",
    "rescorers.no_repeat_word": "botframework_plugins.rescorers.no_repeat_word",
    "rescorers.no_unknown": "botframework_plugins.rescorers.no_unknown",
    "rescorers.no_masked_numbers": "botframework_plugins.rescorers.no_masked_numbers",
    "rescorers.well_formed": "botframework_plugins.rescorers.well_formed",
    "rewards.ease_of_answering": "botframework_plugins.rewards.ease_of_answering",
    "rewards.information_flow": "botframework_plugins.rewards.information_flow",
    "rewards.semantic_coherence": "botframework_plugins.rewards.semantic_coherence",
    "rewards.batch_rarity": "botframework_plugins.rewards.batch_rarity",
    "rewards.reply_length": "botframework_plugins.rewards.reply_length",
    "rewards.evaluation": "botframework_plugins.rewards.evaluation",
}


def build_plugin_manager(
    load: Iterable[str] = (),
    block: Iterable[str] = (),
    entry_points: bool = True,
    search_dirs: Sequence[Path] = (),
) -> pluggy.PluginManager:
    """A fresh plugin manager: built-ins, installed entry points, then local import paths.

    A local plugin not on the Python path is looked for in ``search_dirs`` (e.g. the YAML's folder
    and the current directory), which are then added to the end of the path.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in block:
        manager.set_blocked(name)
    for name, module in BUILTIN_PLUGINS.items():
        if not manager.is_blocked(name):
            manager.register(importlib.import_module(module), name=name)
    if entry_points:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT_NAME)
    for import_path in load:
        if manager.is_blocked(import_path) or manager.has_plugin(import_path):
            continue
        manager.register(import_plugin(import_path, search_dirs), name=import_path)
    manager.check_pending()
    known = {name for name, plugin in manager.list_name_plugin() if plugin is not None}
    known |= set(BUILTIN_PLUGINS)
    unknown = sorted(set(block) - known - _entry_point_names())
    if unknown:
        raise ConfigError(
            f"plugins.block: unknown plugin {', '.join(map(repr, unknown))}; "
            f"registered plugins: {', '.join(sorted(known))}"
        )
    return manager


def bot_plugin_manager(definition: BotDefinition) -> pluggy.PluginManager:
    """One bot's plugin manager: its local plugins may sit beside its YAML or in the current folder."""
    plugins = definition.config.plugins
    return build_plugin_manager(
        plugins.load, plugins.block, search_dirs=(definition.directory, Path.cwd())
    )


def import_plugin(import_path: str, search_dirs: Sequence[Path] = ()) -> ModuleType:
    """Import a local plugin from the Python path, else from the first of ``search_dirs`` with it."""
    top = import_path.partition(".")[0]
    try:
        return importlib.import_module(import_path)
    except ModuleNotFoundError as error:
        if error.name != top:
            raise _cannot_import(import_path, str(error)) from None
    except (ImportError, SyntaxError) as error:
        raise _cannot_import(import_path, str(error)) from None
    folders = [directory.resolve() for directory in search_dirs]
    for folder in folders:
        if (folder / f"{top}.py").is_file() or (folder / top).is_dir():
            if str(folder) not in sys.path:
                sys.path.append(str(folder))
            importlib.invalidate_caches()
            return import_plugin(import_path)
    looked = ", ".join(["the Python path", *map(str, folders)])
    raise _cannot_import(import_path, f"no module {top!r} (looked in {looked})")


def _cannot_import(import_path: str, why: str) -> ConfigError:
    return ConfigError(f"plugins.load: cannot import plugin {import_path!r}: {why}")


def _entry_point_names() -> set[str]:
    from importlib.metadata import entry_points

    return {ep.name for ep in entry_points(group=hookspecs.PROJECT_NAME)}


@dataclass
class PartRegistry:
    """Named factories of one kind (e.g. every decoder), filled through a ``register_*`` hook."""

    kind: str
    factories: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def register(self, name: str, factory: Callable[..., Any]) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self.factories and self.factories[name] is not factory:
            raise ValueError(f"two plugins register a {self.kind} named {name!r}")
        self.factories[name] = factory

    def get(self, name: str, where: str) -> Callable[..., Any]:
        """The factory registered as ``name``; a :class:`ConfigError` listing the known names if none."""
        try:
            return self.factories[name]
        except KeyError:
            known = ", ".join(sorted(self.factories)) or "(none)"
            raise ConfigError(
                f"{where}: unknown {self.kind} {name!r}; registered {self.kind}s: {known}"
            ) from None

    def create(self, name: str, args: dict[str, Any], where: str) -> Any:
        """Build the part with the YAML's arguments; bad arguments become a :class:`ConfigError`."""
        factory = self.get(name, where)
        try:
            part = factory(**args)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{where}: {self.kind} {name!r}: {error}") from None
        if not getattr(part, "name", ""):
            try:
                part.name = name
            except AttributeError:
                pass
        return part


@dataclass
class Parts:
    """Every named part the registered plugins provide."""

    tokenizers: PartRegistry
    corpus_readers: PartRegistry
    decoders: PartRegistry
    rescorers: PartRegistry
    reward_rules: PartRegistry
    transports: PartRegistry


def collect_parts(manager: pluggy.PluginManager) -> Parts:
    parts = Parts(
        tokenizers=PartRegistry("tokenizer"),
        corpus_readers=PartRegistry("corpus reader"),
        decoders=PartRegistry("decoder"),
        rescorers=PartRegistry("rescorer"),
        reward_rules=PartRegistry("reward rule"),
        transports=collect_transports(manager.hook),
    )
    manager.hook.register_tokenizers(register=parts.tokenizers.register)
    manager.hook.register_corpus_readers(register=parts.corpus_readers.register)
    manager.hook.register_decoders(register=parts.decoders.register)
    manager.hook.register_rescorers(register=parts.rescorers.register)
    manager.hook.register_reward_rules(register=parts.reward_rules.register)
    return parts


def collect_transports(hook: pluggy.HookRelay) -> PartRegistry:
    """The Send API transports the plugins behind ``hook`` register (``register_transports``)."""
    transports = PartRegistry("transport")
    hook.register_transports(register=transports.register)
    return transports


def describe_plugins(manager: pluggy.PluginManager) -> list[tuple[str, list[str]]]:
    """Every registered plugin's name and the hooks it implements, sorted by name."""
    rows = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:  # blocked
            continue
        hooks = sorted(caller.name for caller in manager.get_hookcallers(plugin) or [])
        rows.append((name, hooks))
    return sorted(rows)
