"""Keep a long-running process's memory from creeping: glibc malloc arenas and trimming.

What it does: on Linux with glibc, `limit_arenas()` caps the number of malloc arenas (glibc gives
each thread that allocates concurrently an arena of its own, up to eight per core, and memory
freed in one arena is only reused by threads on that arena, so a worker with 16 poll threads and
a scheduler keeps growing its resident size while its Python heap stays flat: measured in the
soak, docs/benchmarks.md); `trim()` hands memory that malloc holds free back to the operating
system (`malloc_trim`), which the worker does after its periodic checkpoint, when large
temporary buffers have just been freed. Both are what `MALLOC_ARENA_MAX=2` and a periodic trim do
for other threaded Python servers.

What it does not do: anything on other C libraries (musl, macOS, Windows: both calls are
no-ops and say so by returning False), or limit the Python heap itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

# mallopt's parameter number for the arena cap (glibc's malloc.h: M_ARENA_MAX = -8).
_M_ARENA_MAX = -8
# Two arenas: the main one and one shared by every other thread. Threads then reuse each other's
# freed memory; the cost is some lock contention in malloc, small next to the GIL's.
ARENAS = 2


@functools.cache  # loaded once: trim() runs after every checkpoint
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # Only glibc has both functions; musl has neither, macOS neither.
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call early, before the worker's threads start)."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(arenas)))


def trim() -> bool:
    """Give free memory held by malloc back to the operating system; True if some was."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(ctypes.c_size_t(0)))
