"""``botframework plugins``: every registered plugin, the hooks it implements and the named parts."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list registered plugins, their hooks and the parts they provide",
        description="Lists built-in plugins, installed ones (entry-point group 'botframework') and, "
        "with --bot, the local plugins a bot YAML loads.",
    )
    parser.add_argument("--bot", metavar="BOT.yaml", help="also load this bot's local plugins")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from botframework.config.loader import load_definition
    from botframework.plugin_settings import collect_settings_models
    from botframework.plugins import (
        bot_plugin_manager,
        build_plugin_manager,
        collect_parts,
        describe_plugins,
    )

    if args.bot:
        manager = bot_plugin_manager(load_definition(args.bot))
    else:
        manager = build_plugin_manager()
    for name, hooks in describe_plugins(manager):
        print(f"{name}: {', '.join(hooks)}")
    parts = collect_parts(manager)
    print()
    for registry in [*vars(parts).values(), collect_settings_models(manager.hook)]:
        print(f"{registry.kind}s: {', '.join(sorted(registry.factories)) or '(none)'}")
    return 0
