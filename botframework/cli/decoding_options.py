"""``--beam-size``, ``--antilm`` and ``--n-bonus``: the original project's decoding options.

They override the bot YAML's ``decoding`` section for one run of ``test``, ``chat`` or ``serve``:

* ``--beam-size N`` picks the ``beam`` decoder with N beams (1 picks ``greedy``);
* ``--antilm W`` sets the weight of the ``antilm`` rescorer, ``--n-bonus G`` that of
  ``length_bonus``: an entry the YAML already lists keeps its place and other arguments, a missing
  one is added at the end of the list, and 0 removes it.

``--set`` overrides replace a whole list, so they cannot add one rescorer to the YAML's; hence
:func:`apply_decoding_options`, which edits the loaded configuration.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from botframework.config.schema import BotConfig
from botframework.decoding.settings import set_decoding

def add_decoding_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding (override the YAML's decoding section)")
    group.add_argument(
        "--beam-size", type=_positive_int, metavar="N", help="beam search with N beams; 1 = greedy"
    )
    group.add_argument(
        "--antilm", type=_weight, metavar="W", help="anti-language-model weight λ (0 = off)"
    )
    group.add_argument(
        "--n-bonus", type=_finite, metavar="G", help="length bonus γ per reply token (0 = off)"
    )


def apply_decoding_options(config: BotConfig, args: argparse.Namespace) -> BotConfig:
    """``config`` with the decoding options applied (the same object when none is given)."""
    return set_decoding(
        config,
        beam_size=getattr(args, "beam_size", None),
        antilm=getattr(args, "antilm", None),
        length_bonus=getattr(args, "n_bonus", None),
    )


def configure_decoding(bot: Any, args: argparse.Namespace) -> None:
    """Rebuild ``bot.decoding`` from the command line's decoding options, if any was given."""
    config = apply_decoding_options(bot.config, args)
    if config is not bot.config:
        bot.definition.config = config
        bot.decoding = bot.build_decoding(config)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _weight(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
    return value
