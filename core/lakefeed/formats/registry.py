"""``FormatRegistry``: the installed file formats, looked up by name, ``data.format`` or
``fileType``, or found by a file's name.

The plugin manager builds it from the ``register_formats`` hook
(:meth:`lakefeed.plugins.Plugins.formats`); the layers below the manager (storage sessions, the
flow store) are handed one and never look plugins up themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lakefeed.errors import UnknownFormat
from lakefeed.formats.base import FileFormat

#: Flow Service's ``data.format`` when a source connection names none: the format used where
#: none is named (a session's inspection, ``lakefeed inspect`` without ``--format``).
DEFAULT_DATA_FORMAT = "parquet"


class FormatRegistry:
    """An immutable set of formats, in registration order; every key (a format's name, its
    ``data.format`` values, its ``fileType``) names one format, any case."""

    def __init__(self, formats: Iterable[FileFormat]) -> None:
        self._formats = tuple(formats)
        self._by_key: dict[str, FileFormat] = {}
        for file_format in self._formats:
            for key in file_format.lookup_keys():
                other = self._by_key.setdefault(key, file_format)
                if other is not file_format:
                    raise ValueError(
                        f"formats {other.name!r} and {file_format.name!r} both answer to {key!r}"
                    )

    @classmethod
    def bundled(cls) -> FormatRegistry:
        """Only the bundled Parquet format: for a session or store made without the
        installed formats (the plugin manager's registry is the one to pass)."""
        from lakefeed.formats.parquet import ParquetFormat

        return cls([ParquetFormat()])

    def __iter__(self) -> Iterator[FileFormat]:
        return iter(self._formats)

    def __len__(self) -> int:
        return len(self._formats)

    def get(self, key: str) -> FileFormat:
        """The format whose name, ``data.format`` value or ``fileType`` is ``key`` (any case);
        :class:`UnknownFormat` naming the installed ones otherwise."""
        found = self._by_key.get(key.strip().lower())
        if found is None:
            raise UnknownFormat(
                f"Unknown file format {key!r} (installed: {self.describe() or 'none'}).",
                fix="Use one of those; is the format's plugin installed? `lakefeed plugins` "
                "lists what is loaded.",
            )
        return found

    def default(self) -> FileFormat:
        """The format of Flow Service's default ``data.format`` (:data:`DEFAULT_DATA_FORMAT`)."""
        return self.get(DEFAULT_DATA_FORMAT)

    def for_file(self, file_name: str) -> FileFormat | None:
        """The first format (registration order) that recognises ``file_name``'s ending."""
        return next((f for f in self._formats if f.recognises(file_name)), None)

    def data_formats(self) -> tuple[str, ...]:
        """Every ``data.format`` value a source connection may name."""
        return tuple(dict.fromkeys(v.lower() for f in self._formats for v in f.data_formats))

    def file_types(self) -> tuple[str, ...]:
        """Every ``fileType`` ``/explore`` answers to."""
        return tuple(dict.fromkeys(f.file_type.lower() for f in self._formats))

    def describe(self) -> str:
        """``"lines (data.format lines), parquet (data.format parquet, parquet_xdm)"``."""
        return ", ".join(
            f"{f.name} (data.format {', '.join(f.data_formats)})"
            for f in sorted(self._formats, key=lambda f: f.name)
        )

    def __repr__(self) -> str:
        return f"<FormatRegistry {', '.join(f.name for f in self._formats)}>"


def given_settings(file_format: FileFormat, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties given, checked and spelt as ``file_format`` reads them (keys as it
    spells them, values normalised): what a source connection stores as ``data.properties``.
    The defaults of properties not given stay out, so a later default change reaches it."""
    given = file_format.check_properties(properties)
    settings = file_format.configure(properties).settings()
    return {key: settings.get(key, value) for key, value in given.items()}
