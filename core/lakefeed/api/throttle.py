"""``LoginThrottle``: failed ``POST /ims/token/v3`` attempts, counted per client id and per caller
address, so client secrets cannot be guessed at the speed of the server.

A sliding window: once a client id has ``max_per_client`` failures within ``window_seconds``
(or an address ``max_per_address``, higher because one address may front many clients), every
attempt for it — even one with the right secret — is refused with 429 and ``Retry-After`` until
the oldest of those failures is older than the window. Refused attempts are not counted, so a
lockout ends on time however hard it is knocked on. A success forgets the client id's failures,
not the address's. At most ``max_tracked`` keys are kept (the least recently failed go first),
so made-up client ids cannot fill the memory.

The counts live in the server process (shared by its worker threads): several server processes
each count their own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from lakefeed.errors import TooManyAttempts

#: Defaults: 10 failures per client id, 50 per address, in any 5 minutes.
WINDOW_SECONDS = 300.0
MAX_FAILURES_PER_CLIENT = 10
MAX_FAILURES_PER_ADDRESS = 50
MAX_TRACKED_KEYS = 10_000
#: Client ids are 32 hex characters; longer ones are cut for the key.
_KEY_LENGTH = 128


class LoginThrottle:
    def __init__(
        self,
        *,
        window_seconds: float = WINDOW_SECONDS,
        max_per_client: int = MAX_FAILURES_PER_CLIENT,
        max_per_address: int = MAX_FAILURES_PER_ADDRESS,
        max_tracked: int = MAX_TRACKED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_seconds = window_seconds
        self.max_per_client = max_per_client
        self.max_per_address = max_per_address
        self.max_tracked = max_tracked
        self.clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _keys(self, client_id: str, address: str) -> list[tuple[tuple[str, str], int]]:
        return [
            (("client", client_id[:_KEY_LENGTH]), self.max_per_client),
            (("address", address[:_KEY_LENGTH]), self.max_per_address),
        ]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def check(self, client_id: str, address: str) -> None:
        """Raise :class:`TooManyAttempts` while the client id or the address is locked out."""
        with self._lock:
            now = self.clock()
            for key, limit in self._keys(client_id, address):
                times = self._recent(key, now)
                if len(times) >= limit:
                    # Open again once all but limit - 1 of the failures have aged out.
                    wait = max(1, math.ceil(times[-limit] + self.window_seconds - now))
                    whom = "client id" if key[0] == "client" else "caller address"
                    raise TooManyAttempts(
                        f"Too many failed token requests for this {whom}: at most {limit} in "
                        f"{self.window_seconds:g} seconds. Token requests for it are refused, "
                        f"even with the right secret, for {wait} more seconds.",
                        fix=f"Wait {wait} seconds (Retry-After), then retry with the right "
                        "client_id and client_secret.",
                        retry_after=wait,
                    )

    def failed(self, client_id: str, address: str) -> None:
        """Count one failed attempt against the client id and the address."""
        with self._lock:
            now = self.clock()
            for key, _ in self._keys(client_id, address):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_tracked:
                self._failures.popitem(last=False)

    def succeeded(self, client_id: str) -> None:
        """Forget the client id's failures: whoever sent the right secret has it."""
        with self._lock:
            self._failures.pop(("client", client_id[:_KEY_LENGTH]), None)
