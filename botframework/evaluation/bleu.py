"""Corpus BLEU of replies against the true replies, as ``eval --configs`` and ``tune`` report it."""

from __future__ import annotations

from collections.abc import Sequence


def corpus_bleu(replies: Sequence[str], references: Sequence[str], tokenize: str = "13a") -> float:
    """Corpus BLEU (sacrebleu, 0-100) with add-one smoothing of the 2- to 4-gram precisions, so
    that replies shorter than 4 words do not score 0. ``tokenize`` is sacrebleu's tokenizer
    (a bot's :attr:`~botframework.Tokenizer.bleu_tokenize`)."""
    from sacrebleu.metrics import BLEU

    bleu = BLEU(smooth_method="add-k", smooth_value=1, tokenize=tokenize)
    return float(bleu.corpus_score(list(replies), [list(references)]).score)

