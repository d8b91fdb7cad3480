"""Byte-level subwords (BPE or Unigram) trained on the corpus with Hugging Face ``tokenizers``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable

from tokenizers import Tokenizer as HuggingFaceTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

from botframework import SPECIAL_TOKENS, Tokenizer, hookimpl

_ALPHABET = pre_tokenizers.ByteLevel.alphabet()
#: Every byte has a token, so the smallest useful vocabulary is the specials plus the 256 bytes.
MIN_VOCAB_SIZE = len(SPECIAL_TOKENS) + len(_ALPHABET)
_FORMAT = 1


class SubwordTokenizer(Tokenizer):
    """Subwords over bytes: any text encodes without an unknown id and decodes back unchanged.

    ``model`` is ``"bpe"`` or ``"unigram"``; ``lowercase`` folds case before splitting;
    ``min_frequency`` is the fewest occurrences for a BPE merge. ``vocab_size`` counts every id,
    specials included, and must be at least :data:`MIN_VOCAB_SIZE`.
    """

    name = "subword"

    def __init__(self, model: str = "bpe", lowercase: bool = False, min_frequency: int = 2) -> None:
        if model not in ("bpe", "unigram"):
            raise ValueError(f"model must be 'bpe' or 'unigram', got {model!r}")
        if not isinstance(lowercase, bool):
            raise ValueError(f"lowercase must be true or false, got {lowercase!r}")
        if type(min_frequency) is not int or min_frequency < 1:
            raise ValueError(f"min_frequency must be an integer of at least 1, got {min_frequency!r}")
        super().__init__(model=model, lowercase=lowercase, min_frequency=min_frequency)
        self.model = model
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.token_counts: list[int] = [0] * len(SPECIAL_TOKENS)
        self._tokenizer = self._untrained()

    def _untrained(self) -> HuggingFaceTokenizer:
        tokenizer = HuggingFaceTokenizer(models.BPE() if self.model == "bpe" else models.Unigram())
        steps = [normalizers.NFC()] + ([normalizers.Lowercase()] if self.lowercase else [])
        tokenizer.normalizer = normalizers.Sequence(steps)
        # A prefix space makes a reply's first word the same token as that word mid-sentence.
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        return tokenizer

    def _trainer(self, vocab_size: int) -> trainers.Trainer:
        common = {
            "vocab_size": vocab_size,
            "special_tokens": list(SPECIAL_TOKENS),
            "initial_alphabet": _ALPHABET,
            "show_progress": False,
        }
        if self.model == "bpe":
            return trainers.BpeTrainer(min_frequency=self.min_frequency, **common)
        return trainers.UnigramTrainer(unk_token=SPECIAL_TOKENS[self.unk_id], **common)

    def train(self, texts: Iterable[str], vocab_size: int) -> None:
        if type(vocab_size) is not int or vocab_size < MIN_VOCAB_SIZE:
            raise ValueError(
                f"vocab_size must be an integer of at least {MIN_VOCAB_SIZE} for byte-level "
                f"subwords (5 special tokens and 256 bytes), got {vocab_size!r}"
            )
        texts = list(texts)
        tokenizer = self._untrained()
        tokenizer.train_from_iterator(texts, self._trainer(vocab_size))
        self._tokenizer = _without_added_tokens(tokenizer)
        encodings = self._tokenizer.encode_batch(texts)
        counts = Counter(i for encoding in encodings for i in encoding.ids)
        counts[self.eos_id] = len(texts)
        self.token_counts = [counts.get(index, 0) for index in range(self.vocab_size)]

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int]) -> str:
        kept = []
        for index in ids:
            index = int(index)
            if index == self.eos_id:
                break
            if not 0 <= index < self.vocab_size:
                raise ValueError(f"token id {index} is outside the vocabulary of {self.vocab_size}")
            if index >= len(SPECIAL_TOKENS):
                kept.append(index)
        return self._tokenizer.decode(kept).strip()

    def normalize(self, text: str) -> str:
        return self.decode(self.encode(text))

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "options": self.options,
                "tokenizer": self._tokenizer.to_str(),
                "token_counts": self.token_counts,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> SubwordTokenizer:
        state = json.loads(text)
        if state.get("format") != _FORMAT:
            raise ValueError(f"unknown {cls.name} tokenizer format {state.get('format')!r}")
        tokenizer = cls(**state["options"])
        tokenizer._tokenizer = HuggingFaceTokenizer.from_str(state["tokenizer"])
        tokenizer.token_counts = state["token_counts"]
        return tokenizer


def _without_added_tokens(tokenizer: HuggingFaceTokenizer) -> HuggingFaceTokenizer:
    """Keep the specials at ids 0..4 but stop matching them in text: typing "</s>" is no EOS."""
    state = json.loads(tokenizer.to_str())
    state["added_tokens"] = []
    return HuggingFaceTokenizer.from_str(json.dumps(state))


@hookimpl
def register_tokenizers(register: Callable[[str, type[Tokenizer]], None]) -> None:
    register("subword", SubwordTokenizer)
