"""The original project's word tokenizer: lower-cased words, punctuation apart, digits as "0".

:func:`written_english` turns what it decodes ("i don't know . what's up ?") back into written text
("I don't know. What's up?") for bots that set ``decoding.written: true``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable

from botframework import SPECIAL_TOKENS, Tokenizer, hookimpl

# A word keeps its inner apostrophes ("don't"); every other non-space character is its own token.
_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
_DIGIT = re.compile(r"\d")
_FORMAT = 1
_SPACE_BEFORE = re.compile(r" +(?=[.,!?;:%)\]}]|n't\b)")
_SPACE_AFTER = re.compile(r"(?<=[(\[{$#]) +")
_SPLIT_CLITIC = re.compile(r"(?<=\w) ?' ?(m|s|re|ve|ll|d|t)\b")
_PRONOUN_I = re.compile(r"\bi\b(?!')|\bi(?='(?:m|ve|ll|d)\b)")
_SENTENCE_START = re.compile(r"(^|[.!?] +)([(\"']?)([a-z])")


def written_english(text: str) -> str:
    """Word-tokenizer output as written English: punctuation attached ("know ." -> "know.",
    "( really )" -> "(really)"), split contractions joined ("do n't" -> "don't", "i ' m" -> "i'm"),
    "i" as "I" and the first letter of every sentence a capital. Only spaces and case change, so
    the result encodes to the same ids (a split contraction, which this tokenizer never makes
    itself, becomes one word)."""
    text = _SPACE_BEFORE.sub("", text.strip())
    text = _SPACE_AFTER.sub("", text)
    text = _SPLIT_CLITIC.sub(r"'\1", text)
    text = _PRONOUN_I.sub("I", text)
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2) + m.group(3).upper(), text)


class WordTokenizer(Tokenizer):
    """A vocabulary of the most frequent words; ids are sorted by frequency after the specials.

    ``vocab_size`` counts every id, the five special tokens included; words outside the vocabulary
    become the unknown id. ``min_count`` drops words seen fewer times from the vocabulary.
    """

    name = "word"

    def __init__(
        self, lowercase: bool = True, normalize_digits: bool = True, min_count: int = 1
    ) -> None:
        for option, value in (("lowercase", lowercase), ("normalize_digits", normalize_digits)):
            if not isinstance(value, bool):
                raise ValueError(f"{option} must be true or false, got {value!r}")
        if type(min_count) is not int or min_count < 1:
            raise ValueError(f"min_count must be an integer of at least 1, got {min_count!r}")
        super().__init__(
            lowercase=lowercase, normalize_digits=normalize_digits, min_count=min_count
        )
        self.lowercase = lowercase
        self.normalize_digits = normalize_digits
        self.min_count = min_count
        self.words: list[str] = list(SPECIAL_TOKENS)
        self.token_counts: list[int] = [0] * len(SPECIAL_TOKENS)
        self._ids = {word: index for index, word in enumerate(self.words)}

    def fold(self, text: str) -> str:
        """``text`` lower-cased and with every digit as "0", as the options ask."""
        if self.lowercase:
            text = text.lower()
        if self.normalize_digits:
            text = _DIGIT.sub("0", text)
        return text

    def split(self, text: str) -> list[str]:
        """The words of ``text`` as the vocabulary sees them."""
        return _TOKEN.findall(self.fold(text))

    def join(self, words: list[str]) -> str:
        return " ".join(words)

    def train(self, texts: Iterable[str], vocab_size: int) -> None:
        if type(vocab_size) is not int or vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(
                f"vocab_size must be an integer above {len(SPECIAL_TOKENS)} (the special tokens), "
                f"got {vocab_size!r}"
            )
        counts: Counter[str] = Counter()
        texts_seen = 0
        for text in texts:
            counts.update(self.split(text))
            texts_seen += 1
        # most_common keeps first-seen order among equal counts, so training is deterministic.
        kept = [
            (word, count)
            for word, count in counts.most_common(vocab_size - len(SPECIAL_TOKENS))
            if count >= self.min_count
        ]
        unknown = sum(counts.values()) - sum(count for _, count in kept)
        self._set_vocabulary(
            [word for word, _ in kept],
            [0, 0, texts_seen, unknown, 0] + [count for _, count in kept],
        )

    def _set_vocabulary(self, words: list[str], token_counts: list[int]) -> None:
        self.words = list(SPECIAL_TOKENS) + words
        self.token_counts = token_counts
        self._ids = {word: index for index, word in enumerate(self.words)}

    def encode(self, text: str) -> list[int]:
        return [self._ids.get(word, self.unk_id) for word in self.split(text)]

    def decode(self, ids: Iterable[int]) -> str:
        words = []
        for index in ids:
            index = int(index)
            if index == self.eos_id:
                break
            if index in (self.pad_id, self.bos_id):
                continue
            if not 0 <= index < len(self.words):
                raise ValueError(f"token id {index} is outside the vocabulary of {len(self.words)}")
            words.append(self.words[index])
        return self.join(words)

    def normalize(self, text: str) -> str:
        return self.join(self.split(text))

    def written(self, text: str) -> str:
        """Decoded text as written English (:func:`written_english`)."""
        return written_english(text)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "options": self.options,
                "words": self.words[len(SPECIAL_TOKENS) :],
                "token_counts": self.token_counts,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        state = json.loads(text)
        if state.get("format") != _FORMAT:
            raise ValueError(f"unknown {cls.name} tokenizer format {state.get('format')!r}")
        tokenizer = cls(**state["options"])
        tokenizer._set_vocabulary(state["words"], state["token_counts"])
        return tokenizer


@hookimpl
def register_tokenizers(register: Callable[[str, type[Tokenizer]], None]) -> None:
    register("word", WordTokenizer)
