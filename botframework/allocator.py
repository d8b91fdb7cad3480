"""Keep freed memory in the process for reuse, so decoding steps stop re-faulting their pages.

Every decoding step allocates and frees the same few large tensors: the (rows, vocabulary) scores
are 800 KB for 10 rows of 20,000 words. glibc's ``malloc`` maps blocks above its mmap threshold
(128 KiB at start, adjusted as blocks are freed) afresh and gives free memory at the top of the heap
back to the system above its trim threshold, so many steps pay the kernel to zero new pages again.
Raising both thresholds keeps that memory in the process: the next step reuses it. The process
then holds on to up to ``trim_threshold`` of freed memory.
"""

from __future__ import annotations

import ctypes
import platform

#: mallopt(3) parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MIB = 1 << 20


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def keep_freed_memory(mmap_threshold: int = 64 * MIB, trim_threshold: int = 256 * MIB) -> bool:
    """Serve blocks up to ``mmap_threshold`` bytes from the heap and keep up to ``trim_threshold``
    of free heap; whether it took effect (False where the C library is not glibc)."""
    libc = _glibc()
    if libc is None:
        return False
    # mallopt returns 1 on success
    mapped = libc.mallopt(_M_MMAP_THRESHOLD, ctypes.c_int(mmap_threshold))
    trimmed = libc.mallopt(_M_TRIM_THRESHOLD, ctypes.c_int(trim_threshold))
    return mapped == 1 and trimmed == 1


def return_freed_memory() -> bool:
    """Give the free memory the process kept back to the system now (after freeing something
    large for good, such as a model's weights); False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)  # returns whether memory went back, which is not a failure either way
    return True
