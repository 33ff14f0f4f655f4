"""The sliding-window limiter: a budget over any window, a clock moved by hand, many threads."""

from __future__ import annotations

import threading

import pytest

from bot.ratelimit import SlidingWindowLimiter


class FakeClock:
    """Seconds that only move when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_allows_the_limit_then_refuses_without_blocking() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, 60.0, clock=clock)
    assert [limiter.try_acquire() for _ in range(12)] == [True] * 10 + [False, False]
    assert limiter.remaining() == 0


def test_window_slides_each_slot_frees_exactly_one_window_after_it_was_taken() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60.0, clock=clock)
    assert limiter.try_acquire()  # t=0
    clock.advance(20)
    assert limiter.try_acquire()  # t=20
    clock.advance(20)
    assert limiter.try_acquire()  # t=40
    assert not limiter.try_acquire()
    assert limiter.wait_time() == pytest.approx(20.0)  # the t=0 slot frees at t=60
    clock.advance(19.5)
    assert not limiter.try_acquire()
    assert limiter.wait_time() == pytest.approx(0.5)
    clock.advance(0.5)  # t=60: the first one is out of the window
    assert limiter.wait_time() == 0.0
    assert limiter.try_acquire()
    assert not limiter.try_acquire()  # t=20 and t=40 still count
    clock.advance(20)
    assert limiter.remaining() == 1


def test_no_double_burst_at_a_window_boundary() -> None:
    """Unlike a fixed window, 10 at the end of one minute leave no room at the start of the next."""
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, 60.0, clock=clock)
    clock.advance(59)
    assert all(limiter.try_acquire() for _ in range(10))
    clock.advance(2)  # a fixed per-minute window would have reset here
    assert not limiter.try_acquire()
    clock.advance(58)
    assert limiter.try_acquire()


def test_refused_attempts_do_not_use_the_budget() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10.0, clock=clock)
    assert limiter.try_acquire()
    for _ in range(5):
        assert not limiter.try_acquire()
    clock.advance(10)
    assert limiter.try_acquire()


def test_reset_forgets_everything() -> None:
    limiter = SlidingWindowLimiter(2, 60.0, clock=FakeClock())
    limiter.try_acquire()
    limiter.try_acquire()
    limiter.reset()
    assert limiter.remaining() == 2


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (-1, 60.0), (10, 0.0), (10, -5.0)])
def test_nonsense_settings_are_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        SlidingWindowLimiter(limit, window)


def test_thread_safe_exactly_the_limit_is_granted_under_contention() -> None:
    limiter = SlidingWindowLimiter(50, 3600.0, clock=FakeClock())
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker() -> None:
        start.wait()
        mine = [limiter.try_acquire() for _ in range(20)]
        with lock:
            granted.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 320
    assert sum(granted) == 50


def test_default_clock_is_real_monotonic_time() -> None:
    limiter = SlidingWindowLimiter(1, 3600.0)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    assert 0 < limiter.wait_time() <= 3600.0
