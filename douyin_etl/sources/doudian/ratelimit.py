"""A thread-safe token bucket: the client's limiter and the mock's QPS limit (one implementation)."""

from __future__ import annotations

import threading
import time


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` banked (default: one second's worth, ≥ 1)."""

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests/s, got {rate}")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self.acquired = 0
        self.waited_s = 0.0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self) -> bool:
        """Take a token if one is there (non-blocking)."""
        with self._lock:
            self._refill(time.monotonic())
            if self._tokens >= 1:
                self._tokens -= 1
                self.acquired += 1
                return True
            return False

    def acquire(self) -> float:
        """Block until a token is available; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    self.acquired += 1
                    self.waited_s += waited
                    return waited
                wait = (1 - self._tokens) / self.rate
            time.sleep(wait)
            waited += wait
