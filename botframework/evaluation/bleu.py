"""Corpus BLEU of replies against the true replies, as ``eval --configs`` and ``tune`` report it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botframework.data.tokenizer import Tokenizer


def corpus_bleu(replies: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU (sacrebleu, 0-100) with add-one smoothing of the 2- to 4-gram precisions, so
    that replies shorter than 4 words do not score 0. ``tokenize`` is sacrebleu's tokenizer."""
    from sacrebleu.metrics import BLEU

    bleu = BLEU(smooth_method="add-k", smooth_value=1, tokenize=tokenize)
    return float(bleu.corpus_score(list(replies), [list(references)]).score)


def bleu_tokenize(tokenizer: Tokenizer) -> str:
    """The sacrebleu tokenizer for replies of ``tokenizer``: Chinese ones are split into words."""
    return "zh" if tokenizer.name == "jieba" else "13a"
