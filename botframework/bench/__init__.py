"""Benchmarks that print numbers, baselines included (``botframework bench ...``).

:mod:`~botframework.bench.decode` times decoding (``bench decode``), against the original project's
beam search in :mod:`~botframework.bench.seed_style`; :mod:`~botframework.bench.train` times training
(``bench train``). The command line (``botframework/cli/``) only parses arguments and calls them.
Import the modules themselves: this package imports nothing.
"""
