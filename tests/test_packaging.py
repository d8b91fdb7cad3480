"""Every Python package folder is listed in setup.cfg (find: cannot see the package_dir mapping)."""

from __future__ import annotations

import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = set()
    for root, name in (("botframework", "botframework"), ("plugins", "botframework_plugins")):
        for init in (REPO / root).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / root)
            found.add(".".join((name, *relative.parts)))
    assert found == listed


def test_torch_is_pinned_where_pip_picks_it_up() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert "torch==2.13.0" in config["options"]["install_requires"].split()
