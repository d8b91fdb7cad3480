"""keep_freed_memory: repeated large allocations stop faulting in fresh pages."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Tensors the size of a decoding step's scores, made and freed over and over; prints the page
# faults of the last 100 rounds.
ROUNDS = """
import resource, sys, torch
from botframework.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
torch.set_num_threads(1)
scores = torch.randn(10, 20000)
def step():
    log_probs = torch.log_softmax(scores, 1) + scores
    return log_probs.index_select(0, torch.arange(10)).sum() + torch.randn(40, 20000).sum()
step()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def page_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, timeout=120, check=True
    )
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keeping_freed_memory_spares_most_page_faults() -> None:
    default, kept = page_faults("default"), page_faults("keep")
    assert kept * 3 < default, (kept, default)


def test_without_glibc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from botframework.allocator import keep_freed_memory

    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert keep_freed_memory() is False
