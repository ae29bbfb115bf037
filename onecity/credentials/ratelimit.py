"""A per-client request budget for the public, unauthenticated credential endpoints.

The public check does real work (a signature, a status list) for anyone who asks, so one
client must not be able to take all of it. The budget is per process and per client
address, a sliding window kept in memory: it protects each worker without a shared store,
and a refused client is told when to come back (429 with ``Retry-After``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from onecity.core.errors import TooManyAttempts


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float, *, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window_seconds, max_clients
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, client: str) -> None:
        """Count one request of ``client``; raise :class:`TooManyAttempts` past the budget."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.get(client)
            if hits is None:
                if len(self._hits) >= self.max_clients:
                    self._evict(now)
                hits = self._hits[client] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, math.ceil(hits[0] + self.window - now))
                raise TooManyAttempts(
                    f"more than {self.limit} checks in {int(self.window)} seconds from this "
                    f"address; try again in {retry} seconds",
                    retry_after=retry,
                )
            hits.append(now)

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_clients:  # all busy: forget the oldest half rather than grow
            for key in list(self._hits)[: self.max_clients // 2]:
                del self._hits[key]
