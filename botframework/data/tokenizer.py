"""The tokenizer interface every tokenizer plugin implements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

PAD, BOS, EOS, UNK, SEP = "<pad>", "<s>", "</s>", "<unk>", "<sep>"
#: Special tokens, always the first ids in this order: pad=0, bos=1, eos=2, unk=3, sep=4.
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK, SEP)


class Tokenizer:
    """Turns text into token ids and back; trained once on a corpus, stored as JSON.

    Ids 0..4 are :data:`SPECIAL_TOKENS`. Subclasses implement ``train``, ``encode``, ``decode``,
    ``vocab_size``, ``to_json`` and ``from_json``; ``token_counts`` (frequency of every id in the
    training texts, used by the sampled softmax) is filled by ``train`` and saved with the rest.
    """

    name: ClassVar[str] = ""
    #: The sacrebleu tokenizer that cuts this tokenizer's text into words for BLEU ("zh" for text
    #: written without spaces).
    bleu_tokenize: ClassVar[str] = "13a"
    pad_id, bos_id, eos_id, unk_id, sep_id = range(len(SPECIAL_TOKENS))

    def __init__(self, **options: object) -> None:
        self.options = options

    def train(self, texts: Iterable[str], vocab_size: int) -> None:
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def to_json(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        raise NotImplementedError

    def normalize(self, text: str) -> str:
        """The text as this tokenizer sees it (for word-level metrics); identity by default."""
        return text

    def written(self, text: str) -> str:
        """Decoded ``text`` as written prose (cased, punctuation attached), for a tokenizer whose
        ``decode`` gives something else; identity by default. Used when the bot YAML sets
        ``decoding.written: true``; the result should encode to the same ids as ``text``."""
        return text

    def reply_words(self, text: str) -> list[str]:
        """The words of a decoded reply as word-level metrics count them (distinct-n, average
        length); by default :func:`botframework.text.words`: lower-cased, punctuation left out."""
        from botframework.text import words

        return words(text)
