"""A small thread-safe sliding-window rate limiter: at most N events in any window of W seconds.

What it does: `SlidingWindowLimiter.try_acquire()` takes one slot if fewer than `limit` were taken
in the last `window` seconds and says whether it did; `wait_time()` says how long until a slot
frees up; `remaining()` how many are left right now. Several threads (the scheduler runs sources
in parallel) can share one limiter. The clock is injectable (a callable returning seconds, by
default `time.monotonic`), so tests move time by hand instead of sleeping.

What it does not do: sleep or block (a caller that finds the budget used up does something else
and comes back later; a scheduler polling again is cheaper than a parked thread), know about
HTTP or about a server's own limits (a 429 and its Retry-After are the caller's business), or
persist anything across restarts (after a restart the window starts empty).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `window` seconds, shared safely between threads.

    A true sliding window: each acquisition is remembered with its time and forgotten `window`
    seconds later, so there is no burst of 2×limit at a fixed-window boundary.
    """

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        if window <= 0:
            raise ValueError(f"window must be positive seconds (got {window})")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._taken: deque[float] = deque()
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        # Called with the lock held. An acquisition exactly `window` seconds ago no longer counts.
        while self._taken and self._taken[0] <= now - self.window:
            self._taken.popleft()

    def try_acquire(self) -> bool:
        """Take one slot if the budget allows; True if taken. Never blocks."""
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if len(self._taken) >= self.limit:
                return False
            self._taken.append(now)
            return True

    def remaining(self) -> int:
        """Slots free right now."""
        with self._lock:
            self._forget_old(self._clock())
            return self.limit - len(self._taken)

    def wait_time(self) -> float:
        """Seconds until a slot frees up (0.0 when one is free now)."""
        with self._lock:
            now = self._clock()
            self._forget_old(now)
            if len(self._taken) < self.limit:
                return 0.0
            return max(0.0, self._taken[0] + self.window - now)

    def reset(self) -> None:
        """Forget every acquisition (for a fresh start, e.g. between independent runs)."""
        with self._lock:
            self._taken.clear()

    def __repr__(self) -> str:
        return f"SlidingWindowLimiter(limit={self.limit}, window={self.window:g}s)"
