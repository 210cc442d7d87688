"""How long storage calls may take, so that a stalled endpoint never hangs lakefeed.

A :class:`StorageSession` builds its filesystem inside :func:`using_timeouts`; a plugin's
``filesystem()`` reads :func:`storage_timeouts` and passes the values to its vendor client
(connect and read timeouts). The session itself bounds a whole connection test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

#: Opening one network connection never takes longer than this, whatever the test deadline.
MAX_CONNECT_SECONDS = 10.0
#: The longest deadline or timeout lakefeed takes (a day): longer ones are surely a mistake,
#: and beyond ~292 years the clock's own limits raise (threading.TIMEOUT_MAX).
MAX_SECONDS = 86400.0


@dataclass(frozen=True)
class StorageTimeouts:
    #: Seconds a connection test may take in all (``LAKEFEED_CONNECT_TIMEOUT``).
    test: float = 30.0
    #: Seconds a read (a listing page, a footer, a block of a file) may wait for data before
    #: it fails (``LAKEFEED_READ_TIMEOUT``); clients retry it a bounded number of times.
    read: float = 60.0

    @property
    def connect(self) -> float:
        """Seconds to open one connection (TCP, TLS or SSH handshake): 10, or the test
        deadline when that is lower."""
        return min(MAX_CONNECT_SECONDS, self.test)


_current: ContextVar[StorageTimeouts] = ContextVar("lakefeed_storage_timeouts")


def storage_timeouts() -> StorageTimeouts:
    """The timeouts of the session whose filesystem is being built (the defaults outside)."""
    return _current.get(StorageTimeouts())


@contextmanager
def using_timeouts(timeouts: StorageTimeouts) -> Iterator[None]:
    """Make ``timeouts`` what :func:`storage_timeouts` answers in this block."""
    token = _current.set(timeouts)
    try:
        yield
    finally:
        _current.reset(token)
