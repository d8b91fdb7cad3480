"""Decoding: the scoring context, candidates and the rescorer base classes."""
