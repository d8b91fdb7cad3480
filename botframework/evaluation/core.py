"""The built-in metrics of ``botframework eval``, registered like a plugin's."""

from __future__ import annotations

import math

from botframework.evaluation.bigram import bigram_word_perplexity
from botframework.evaluation.relevance import relevance_or_nan
from botframework.evaluation.reply_quality import (
    average_words,
    broken_rate,
    copy_rate,
    default_generic_rate,
    format_rate,
    farewell_rate,
    greeting_rate,
    repeat_rate,
)
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


def default_list_generic_rate(run: EvalRun) -> float:
    """The share of generic replies against the default dull list: comparable across bots."""
    return default_generic_rate(run.replies)


def average_length(run: EvalRun) -> float:
    """Words per reply."""
    return average_words(run.replies)


def broken_reply_rate(run: EvalRun) -> float:
    """The share of replies that end on a word that cannot end a sentence or repeat a word."""
    return broken_rate(run.replies)


def repeated_word_rate(run: EvalRun) -> float:
    """The share of replies that say a content word twice, anywhere ("europe or europe")."""
    return repeat_rate(run.replies)


def reply_copy_rate(run: EvalRun) -> float:
    """The mean share of a reply's content words already in its prompt (the last turn)."""
    return copy_rate([prompt[-1] for prompt in run.prompts], run.replies)


def reply_greeting_rate(run: EvalRun) -> float:
    """The share of replies opening with a greeting, among replies to prompts that are not one."""
    return greeting_rate([prompt[-1] for prompt in run.prompts], run.replies)


def reply_farewell_rate(run: EvalRun) -> float:
    """The share of replies saying goodbye, among replies to prompts that do not."""
    return farewell_rate([prompt[-1] for prompt in run.prompts], run.replies)


def well_formatted(run: EvalRun) -> float:
    """The share of replies that read as written text (capitals, punctuation, real numbers)."""
    return format_rate(run.replies)


def relevance(run: EvalRun) -> float:
    """The mean cosine of reply and prompt sentence embeddings (n/a without ``[judge]``)."""
    return relevance_or_nan([prompt[-1] for prompt in run.prompts], run.replies)


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
    register("generic-rate", default_list_generic_rate)
    register("average-length", average_length)
    register("broken-rate", broken_reply_rate)
    register("repeat-rate", repeated_word_rate)
    register("copy-rate", reply_copy_rate)
    register("greeting-rate", reply_greeting_rate)
    register("farewell-rate", reply_farewell_rate)
    register("well-formatted", well_formatted)
    register("relevance", relevance)
