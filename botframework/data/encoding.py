"""How a dialogue and a reply become token ids, the same in training and in decoding."""

from __future__ import annotations

from collections.abc import Sequence

from botframework.data.tokenizer import Tokenizer


def encode_source(tokenizer: Tokenizer, turns: Sequence[str], max_length: int) -> list[int]:
    """The turns joined by the separator token, keeping the most recent ``max_length`` ids.

    Never empty: an empty prompt becomes a lone EOS so the encoder always has one position.
    """
    ids: list[int] = []
    for index, turn in enumerate(turns):
        if index:
            ids.append(tokenizer.sep_id)
        ids.extend(tokenizer.encode(turn))
    ids = ids[-max_length:]
    return ids or [tokenizer.eos_id]


def empty_source(tokenizer: Tokenizer) -> list[int]:
    """The source of no turns: what the decoder reads when it acts as a language model p(reply)."""
    return encode_source(tokenizer, (), 1)


def encode_target(tokenizer: Tokenizer, reply: str, max_length: int) -> list[int]:
    """The reply's ids followed by EOS, at most ``max_length`` ids in all.

    A reply longer than that is cut to its first ``max_length`` ids *without* EOS: an EOS after
    the cut would teach the model that replies end there, and it would then score every longer
    reply as very unlikely.
    """
    ids = tokenizer.encode(reply)
    if len(ids) >= max_length:
        return ids[:max_length]
    return ids + [tokenizer.eos_id]
