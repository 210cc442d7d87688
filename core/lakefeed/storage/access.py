"""``SourceAccess``: how to open one connection's storage, as a value a task can carry."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    _opened: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def session(self) -> StorageSession:
        session = self._opened.get("session")
        if session is None:
            session = self._opened["session"] = StorageSession(
                self.source_type,
                self.auth,
                label=self.label,
                endpoints=self.endpoints,
                timeouts=self.timeouts,
                formats=self.formats,
            )
        return session

    def __getstate__(self) -> dict[str, Any]:
        """Sent elsewhere without the opened session (it holds clients and sockets)."""
        state = dict(self.__dict__)
        state["_opened"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
