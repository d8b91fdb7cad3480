"""Word-level helpers shared by reinforcement learning and evaluation: the dull-reply list, words,
n-grams, distinct-n and word overlap. Pure Python (no torch), so any package may use them.

* distinct-n (Li et al., 2016): distinct n-grams over all replies / total n-grams over all replies;
* the dull (generic) reply list, one for RL and evaluation: ``reinforce.dull_replies`` in the bot
  YAML, :data:`DEFAULT_DULL_REPLIES` when unset; :func:`is_dull` and :func:`dull_rate` use it;
* eval's generic-reply rate uses that list extended by :data:`GENERIC_REPLIES`
  (:func:`generic_replies`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

#: The dull replies a bot uses when its YAML sets no ``reinforce.dull_replies``.
DEFAULT_DULL_REPLIES: tuple[str, ...] = (
    "i don't know what you are talking about",
    "i don't know",
    "i have no idea",
    "i'm not sure",
    "i don't know what you mean",
    "i don't think so",
    "you don't know",
    "i'm not sure what you are talking about",
)

#: Short generic replies ``eval`` counts as well, on top of the dull list.
GENERIC_REPLIES: tuple[str, ...] = ("i don't know", "me too", "i think so", "yes", "ok")

_WORD = re.compile(r"\w+(?:'\w+)*")


def words(text: str) -> list[str]:
    """Lower-cased words without punctuation: how replies are compared with each other."""
    return _WORD.findall(text.lower().replace("’", "'"))


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``text`` holds the words of ``phrase`` in a row (whole words; case, accents and
    punctuation ignored): how canned answers and handover keywords match a message."""
    wanted = _folded_words(phrase)
    return bool(wanted) and f" {wanted} " in f" {_folded_words(text)} "


def _folded_words(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.findall(r"\w+", bare))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens, in order (none when there are fewer than ``n``)."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(
    replies: Iterable[str], n: int, split: Callable[[str], list[str]] = str.split
) -> float:
    """Distinct n-grams / total n-grams over all ``replies``; 0 when none.

    ``split`` cuts a reply into words: whitespace by default, a tokenizer's
    :meth:`~botframework.Tokenizer.words` for text written without spaces.
    """
    if n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    counts: Counter[tuple[str, ...]] = Counter()
    for reply in replies:
        counts.update(ngrams(split(reply), n))
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def is_dull(reply: str, dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> bool:
    """Whether ``reply`` is generic: empty, or a dull reply that makes up at least half its words.

    "i don't know ." and "i don't know , sorry" are dull; "i don't know the answer to that
    riddle but i love riddles" is not.
    """
    said = words(reply)
    if not said:
        return True
    for dull in dull_replies:
        phrase = words(dull)
        if 2 * len(phrase) >= len(said) and _contains(said, phrase):
            return True
    return False


def _contains(sequence: list[str], part: list[str]) -> bool:
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


def dull_rate(replies: Sequence[str], dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> float:
    """The share of ``replies`` that :func:`is_dull`; 0 for no replies."""
    dull_replies = list(dull_replies)
    return sum(is_dull(r, dull_replies) for r in replies) / len(replies) if replies else 0.0


def generic_replies(dull_replies: Iterable[str] = DEFAULT_DULL_REPLIES) -> list[str]:
    """The dull list followed by those of :data:`GENERIC_REPLIES` it lacks."""
    replies = list(dull_replies)
    return replies + [reply for reply in GENERIC_REPLIES if reply not in replies]


def word_overlap(reply: str, previous: str) -> float:
    """The share of the distinct words of ``reply`` that ``previous`` holds too (0 when empty)."""
    said = set(words(reply))
    return len(said & set(words(previous))) / len(said) if said else 0.0
