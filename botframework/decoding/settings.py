"""Changing a bot's decoding settings in code: the decoder, the anti-LM and length-bonus weights.

Used by the command-line shorthands (``--beam-size``, ``--antilm``, ``--n-bonus``), ``tune`` and
``eval``.
"""

from __future__ import annotations

from typing import Any

from botframework.config.schema import BotConfig, NamedPart


#: The rescorer each decoding shorthand turns on: ``--antilm`` / ``--n-bonus`` (``test``, ``chat``,
#: ``serve``), ``tune``, ``eval --configs`` and ``bench decode``. Arguments a bot YAML does not give
#: come from the rescorer's own defaults; no other table holds them.
SHORTHAND_RESCORERS: dict[str, str] = {"antilm": "antilm", "n_bonus": "length_bonus"}


def rescorer_args(config: BotConfig, rescorer: str) -> dict[str, Any]:
    """The arguments the YAML gives ``rescorer`` if it lists it, else none (its defaults apply)."""
    for entry in config.decoding.rescorers:
        if entry.name == rescorer:
            return dict(entry.args)
    return {}


def set_decoding(
    config: BotConfig,
    beam_size: int | None = None,
    antilm: float | None = None,
    first_tokens: int | None = None,
    length_bonus: float | None = None,
) -> BotConfig:
    """A copy of ``config`` with the decoder and the anti-LM / length-bonus settings replaced.

    None leaves a setting as the YAML has it; a weight of 0 removes that rescorer.
    """
    if beam_size is None and antilm is None and first_tokens is None and length_bonus is None:
        return config
    decoding = config.decoding.model_copy(deep=True)
    if beam_size is not None:
        args = dict(decoding.decoder.args) if decoding.decoder.name == "beam" else {}
        decoding.decoder = (
            NamedPart(name="greedy")
            if beam_size == 1
            else NamedPart(name="beam", args={**args, "beam_size": beam_size})
        )
    rescorers = list(decoding.rescorers)
    antilm_name, bonus_name = SHORTHAND_RESCORERS["antilm"], SHORTHAND_RESCORERS["n_bonus"]
    rescorers = _set_rescorer(rescorers, antilm_name, antilm, first_tokens=first_tokens)
    rescorers = _set_rescorer(rescorers, bonus_name, length_bonus)
    decoding.rescorers = rescorers
    return config.model_copy(update={"decoding": decoding})


def _set_rescorer(
    rescorers: list[NamedPart], name: str, weight: float | None, **extra: Any
) -> list[NamedPart]:
    extra = {key: value for key, value in extra.items() if value is not None}
    if weight is None and not extra:
        return rescorers
    if weight == 0:
        return [entry for entry in rescorers if entry.name != name]
    changes = {**({"weight": weight} if weight is not None else {}), **extra}
    if any(entry.name == name for entry in rescorers):
        return [
            NamedPart(name=name, args={**entry.args, **changes}) if entry.name == name else entry
            for entry in rescorers
        ]
    return [*rescorers, NamedPart(name=name, args=changes)]
