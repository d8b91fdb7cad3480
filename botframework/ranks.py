"""Which process of a distributed (DDP) run this is, before Lightning has set anything up.

Lightning's launchers tell each process its place through the environment (``NODE_RANK`` for the
machine, ``LOCAL_RANK`` for the device on it, ``RANK`` when a cluster launcher gives the global
rank); a process without them is the first, or the only, one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def is_global_zero(environ: Mapping[str, str] | None = None) -> bool:
    """True in the process that writes files shared by the run (vocabulary, checkpoints, logs)."""
    env = os.environ if environ is None else environ
    return all(env.get(name, "0") == "0" for name in ("RANK", "NODE_RANK", "LOCAL_RANK"))
