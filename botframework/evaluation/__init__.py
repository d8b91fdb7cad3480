"""Evaluating checkpoints of a bot on held-out prompts (``botframework eval``).

:mod:`~botframework.evaluation.metrics` holds the model-based metrics (word-level perplexity; the
word-level ones, distinct-n and the one dull-reply list RL shares, are in :mod:`botframework.text`);
:class:`~botframework.evaluation.run.EvalRun` is what each metric receives; metrics are registered
by name through the ``register_eval_metrics`` hook (the built-in ones in
:mod:`~botframework.evaluation.core`, the RL ones in the ``rewards.evaluation`` plugin) and shown by
:func:`~botframework.evaluation.report.markdown_table`. :mod:`~botframework.evaluation.bigram` is
the Kneser-Ney baseline of the perplexity; :mod:`~botframework.evaluation.configs` compares decoding
configurations (``eval --configs``). Import the modules themselves: this package imports nothing.
"""
