"""The objective ``botframework tune`` ranks settings by: a weighted sum of named terms.

Each term is measured on the replies one setting decodes (:func:`botframework.evaluation.tuning.
measure`); the weights come from ``--weights``, the YAML's ``tune.weights`` or, when neither is
given, BLEU alone. Positive weights reward a term, negative ones punish it. This module imports
nothing heavy, so the YAML schema can check weight names against :data:`TERMS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: Replies with fewer words than this count as too short.
SHORT_WORDS = 3

#: Every term by name, with what it measures (shares are 0–1, BLEU 0–100).
TERMS: dict[str, str] = {
    "bleu": "smoothed corpus BLEU against the references, 0-100 (n/a without references)",
    "distinct2": "distinct bigrams / all bigrams of the replies",
    "relevance": "mean cosine of reply and prompt embeddings (needs botframework[judge])",
    "generic": "share of generic replies (the default dull list)",
    "broken": "share of broken replies (a bad last word, a word said twice in a row)",
    "copy": "mean share of a reply's content words that its prompt holds",
    "greeting": "share of replies opening with a greeting, among prompts that do not",
    "farewell": "share of replies saying goodbye, among prompts that do not",
    "short": f"share of replies of fewer than {SHORT_WORDS} words",
    "length": "average words per reply",
    "format": "share of replies that read as written text",
}

#: The objective when no weights are given: BLEU alone, as ``tune`` always ranked.
BLEU_ONLY: dict[str, float] = {"bleu": 1.0}


def unknown_terms_message(names: list[str]) -> str:
    """The one-line complaint about weight names that are not terms."""
    listed = ", ".join(repr(name) for name in names)
    return f"unknown objective term {listed} (known: {', '.join(TERMS)})"


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """``weights`` as a plain dict; ValueError when a name is no term or a weight not finite."""
    unknown = [name for name in weights if name not in TERMS]
    if unknown:
        raise ValueError(unknown_terms_message(unknown))
    if not all(math.isfinite(weight) for weight in weights.values()):
        raise ValueError("objective weights must be finite numbers")
    return dict(weights)


def parse_weights(text: str) -> dict[str, float]:
    """``"relevance=1,generic=-1"`` as ``{"relevance": 1.0, "generic": -1.0}``; ValueError names
    the part that is wrong."""
    weights: dict[str, float] = {}
    for part in (part.strip() for part in text.split(",")):
        if not part:
            continue
        name, equals, value = part.partition("=")
        try:
            if not equals:
                raise ValueError(part)
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--weights: {part!r} is not NAME=NUMBER") from None
    if not weights:
        raise ValueError("--weights: expected NAME=NUMBER pairs, e.g. relevance=1,generic=-1")
    return check_weights(weights)


def active(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights that count: every non-zero one, in :data:`TERMS` order."""
    return {name: weights[name] for name in TERMS if weights.get(name)}


def combine(terms: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ weight × term over the non-zero weights; NaN when a weighted term is n/a."""
    return sum(weight * terms.get(name, math.nan) for name, weight in active(weights).items())


def formula(weights: Mapping[str, float]) -> str:
    """The objective as text: ``"1·relevance + 1·distinct2 − 1·generic"``."""
    parts = [
        f"{'−' if weight < 0 else '+'} {abs(weight):g}·{name}"
        for name, weight in active(weights).items()
    ]
    text = " ".join(parts) or "0"
    return "−" + text[2:] if text.startswith("− ") else text.removeprefix("+ ")
