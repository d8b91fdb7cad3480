"""How well a reply fits its prompt: the cosine of their sentence embeddings.

The embedding model comes with the optional ``judge`` extra (``pip install 'botframework[judge]'``):
the ``tokenlearn-static-model`` package, a Model2Vec-style static embedding model (a 10k-token
vocabulary, 64 dimensions, int8) whose weights ship inside the package, so nothing is downloaded.
A static model averages token vectors: it judges whether a reply is on the prompt's topic, not
whether it is fluent, and a reply that copies the prompt scores high (read it with the copy rate).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache

#: Texts in, one vector per text out.
Embedder = Callable[[list[str]], list[list[float]]]

#: What ``eval`` and ``tune`` say when the model is not installed.
MISSING_JUDGE = (
    "relevance needs the sentence-embedding model: pip install 'botframework[judge]' "
    "(the tokenlearn-static-model package, weights included)"
)


class JudgeMissing(ImportError):
    """The optional sentence-embedding model is not installed."""


@cache
def sentence_embedder() -> Embedder:
    """The packaged sentence-embedding model; :class:`JudgeMissing` when it is not installed."""
    try:
        from static_model import get_embeddings
    except ImportError as error:
        raise JudgeMissing(MISSING_JUDGE) from error
    return get_embeddings


def judge_available() -> bool:
    """Whether :func:`sentence_embedder` can load the model."""
    try:
        sentence_embedder()
    except JudgeMissing:
        return False
    return True


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine of two vectors; 0 when either is all zeros (an empty text)."""
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


def relevance(
    prompts: Sequence[str], replies: Sequence[str], embed: Embedder | None = None
) -> float:
    """The mean cosine of each reply's embedding with its prompt's (``embed``: the packaged
    model by default); NaN for no replies."""
    if not replies:
        return math.nan
    embed = embed or sentence_embedder()
    vectors = embed([*prompts, *replies])
    pairs = zip(vectors[: len(prompts)], vectors[len(prompts) :], strict=True)
    return sum(cosine(p, r) for p, r in pairs) / len(replies)


def relevance_or_nan(prompts: Sequence[str], replies: Sequence[str]) -> float:
    """:func:`relevance` with the packaged model, NaN (shown as n/a) when it is not installed."""
    return relevance(prompts, replies) if judge_available() else math.nan
