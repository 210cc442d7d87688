"""``SourceAccess``: how to open one connection's storage, as a value a task can carry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from lakefeed.storage.session import StorageSession

if TYPE_CHECKING:
    from lakefeed.formats import FormatRegistry
    from lakefeed.secrets import AuthParams
    from lakefeed.storage.endpoints import EndpointPolicy
    from lakefeed.storage.source import SourceType
    from lakefeed.storage.timeouts import StorageTimeouts


@dataclass(frozen=True)
class SourceAccess:
    """A source type, a connection's auth params, the engine's endpoint policy and timeouts
    and the installed formats: everything :class:`StorageSession` is made from. The session
    is opened once per process and shared by whoever holds this value (the run and the
    conversions it hands to an in-process executor)."""

    source_type: SourceType
    auth: AuthParams
    label: str | None = None
    endpoints: EndpointPolicy | None = None
    timeouts: StorageTimeouts | None = None
    formats: FormatRegistry | None = None

    def session(self) -> StorageSession:
        return self._session

    @cached_property
    def _session(self) -> StorageSession:
        return StorageSession(
            self.source_type,
            self.auth,
            label=self.label,
            endpoints=self.endpoints,
            timeouts=self.timeouts,
            formats=self.formats,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Sent elsewhere without the opened session (it holds clients and sockets)."""
        return {k: v for k, v in self.__dict__.items() if k != "_session"}
