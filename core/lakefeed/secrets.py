"""Auth params that keep their secrets out of reprs, logs and error messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lakefeed.specs import REDACTED


class AuthParams(Mapping[str, Any]):
    """A connection's validated auth params. Secret values never appear in ``repr``/``str``."""

    def __init__(self, spec_name: str, values: Mapping[str, Any], secret_names: Iterable[str]):
        self.spec_name = spec_name
        self._values = dict(values)
        self._secret_names = frozenset(secret_names)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"AuthParams({self.spec_name!r}, {self.redacted()!r})"

    __str__ = __repr__

    def redacted(self) -> dict[str, Any]:
        """The params with every secret value replaced by ``********``."""
        return {k: (REDACTED if k in self._secret_names else v) for k, v in self._values.items()}

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k not in self._secret_names}

    def secrets(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k in self._secret_names}

    def secret_values(self) -> list[str]:
        """Every secret value and the fragments of it that vendors echo (for :func:`redact`)."""
        values: list[str] = []
        for value in self.secrets().values():
            text = str(value)
            values.append(text)
            # Connection strings and SAS URIs leak piecewise: AccountKey=..., sig=...
            for part in text.replace("?", ";").replace("&", ";").split(";"):
                _, sep, tail = part.partition("=")
                if sep and len(tail) >= 6:
                    values.append(tail)
        return values


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Replace every occurrence of a secret (longest first) in ``text`` by ``********``."""
    for value in sorted({v for v in secret_values if v and len(v) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
