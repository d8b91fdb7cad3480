"""The package version and the checkpoint format version."""

__version__ = "0.1.0"

#: Bumped whenever the layout of a saved checkpoint changes incompatibly.
CHECKPOINT_FORMAT_VERSION = 1
