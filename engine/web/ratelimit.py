"""Rate limits: token buckets per key (a client address, a visitor token, an API token).

A bucket holds up to ``burst`` requests and refills at ``per_minute / 60`` a second; a request
finding it empty is refused with the seconds until the next token (429 + ``Retry-After``).
Buckets live in memory in the process serving the front door (the runner), at most
``max_keys`` of them: the least recently used go first, so a flood of new addresses cannot
grow memory without bound (a key that comes back after being dropped starts with a full
bucket, which only ever errs on the side of letting a request through).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by string; ``per_minute == 0`` turns the limit off."""

    def __init__(self, per_minute: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def hit(self, key: str) -> float:
        """Take one token for ``key``; 0.0 if allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait: float) -> str:
    """The ``Retry-After`` value for a wait: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
