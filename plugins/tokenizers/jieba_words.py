"""Chinese words segmented with jieba, in a frequency-sorted vocabulary like ``word``'s."""

from __future__ import annotations

import logging
from collections.abc import Callable

from botframework import Tokenizer, hookimpl
from botframework_plugins.tokenizers.word import WordTokenizer


class JiebaTokenizer(WordTokenizer):
    """Segments with jieba (``pip install botframework[chinese]``); decodes without spaces.

    Words of Latin letters or digits next to each other keep a space between them when decoded, so
    English inside Chinese text stays readable. ``hmm`` lets jieba guess words missing from its
    dictionary.
    """

    name = "jieba"
    bleu_tokenize = "zh"

    def __init__(
        self,
        lowercase: bool = True,
        normalize_digits: bool = True,
        min_count: int = 1,
        hmm: bool = True,
    ) -> None:
        try:
            import jieba
        except ImportError:
            raise ValueError(
                "the jieba tokenizer needs the jieba package: pip install botframework[chinese]"
            ) from None
        if not isinstance(hmm, bool):
            raise ValueError(f"hmm must be true or false, got {hmm!r}")
        super().__init__(
            lowercase=lowercase, normalize_digits=normalize_digits, min_count=min_count
        )
        self.options["hmm"] = hmm
        self.hmm = hmm
        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba

    def split(self, text: str) -> list[str]:
        words = self._jieba.lcut(self.fold(text), HMM=self.hmm)
        return [word for word in (w.strip() for w in words) if word]

    def reply_words(self, text: str) -> list[str]:
        return self.split(text)

    def join(self, words: list[str]) -> str:
        text = ""
        for word in words:
            if text and _latin(text[-1]) and _latin(word[0]):
                text += " "
            text += word
        return text


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


@hookimpl
def register_tokenizers(register: Callable[[str, type[Tokenizer]], None]) -> None:
    register("jieba", JiebaTokenizer)
