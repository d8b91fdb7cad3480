"""The built-in metrics of ``botframework eval``, registered like a plugin's."""

from __future__ import annotations

import math

from botframework.evaluation.bigram import bigram_word_perplexity
from botframework.evaluation.run import EvalRun
from botframework.hookspecs import hookimpl
from botframework.text import distinct_n, dull_rate


def distinct_1(run: EvalRun) -> float:
    """Distinct unigrams / unigrams over the replies to the prompts."""
    return distinct_n(run.replies, 1, run.bot.tokenizer.reply_words)


def distinct_2(run: EvalRun) -> float:
    """Distinct bigrams / bigrams over the replies to the prompts."""
    return distinct_n(run.replies, 2, run.bot.tokenizer.reply_words)


def generic_reply_rate(run: EvalRun) -> float:
    """The share of replies that are dull (``reinforce.dull_replies``)."""
    return dull_rate(run.replies, run.settings.dull_replies)


def perplexity(run: EvalRun) -> float:
    """Word-level perplexity of the true replies (NaN when the prompts come without them)."""
    return run.perplexity


def bigram_perplexity(run: EvalRun) -> dict[str, float]:
    """The Kneser-Ney bigram baseline's word-level perplexity of the same true replies, and how
    much lower the model's is (1 - model / bigram)."""
    if not run.references:
        return {"bigram perplexity": math.nan, "reduction vs bigram": math.nan}
    baseline = bigram_word_perplexity(run.bigram_baseline, run.bot.tokenizer, run.references)
    return {"bigram perplexity": baseline, "reduction vs bigram": 1 - run.perplexity / baseline}


@hookimpl
def register_eval_metrics(register) -> None:
    register("perplexity", perplexity)
    register("bigram-perplexity", bigram_perplexity)
    register("distinct-1", distinct_1)
    register("distinct-2", distinct_2)
    register("dull-rate", generic_reply_rate)
