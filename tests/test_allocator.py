"""keep_freed_memory and return_freed_memory, in fresh interpreters."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Where a fresh 10 MB tensor lives: in the heap (kept and reused once freed), or in a mapping of
# its own (given back on free, zeroed afresh by the kernel next time).
WHERE_A_BLOCK_LIVES = """
import sys, torch
from botframework.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
address = torch.empty(10 * 2**20 // 4).data_ptr()
heaps = [line.split()[0] for line in open("/proc/self/maps") if line.rstrip().endswith("[heap]")]
low, high = (int(bound, 16) for bound in heaps[0].split("-")) if heaps else (0, 0)
print("heap" if low <= address < high else "mapped")
"""


def where_a_block_lives(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", WHERE_A_BLOCK_LIVES, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_large_block_comes_from_the_heap_once_freed_memory_is_kept() -> None:
    assert where_a_block_lives("default") == "mapped"
    assert where_a_block_lives("keep") == "heap"


def test_without_glibc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from botframework.allocator import keep_freed_memory

    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    assert keep_freed_memory() is False


RETURNED = """
import torch
from botframework.allocator import keep_freed_memory, return_freed_memory
def resident_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmRSS"))
    return int(line.split()[1]) // 1024
assert keep_freed_memory()
weights = [torch.ones(5 * 2**20) for _ in range(10)]  # 10 x 20 MB: under the trim threshold
del weights
kept = resident_mb()
assert return_freed_memory()
print(kept, resident_mb())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_memory_that_was_kept_goes_back_to_the_system_when_asked() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RETURNED], capture_output=True, text=True, timeout=120, check=True
    )
    kept, after = map(int, done.stdout.split())
    assert kept - after > 150, (kept, after)
