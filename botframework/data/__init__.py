"""Corpora, tokenizers and the training data module."""
