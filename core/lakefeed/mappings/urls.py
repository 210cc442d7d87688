"""URL functions: the parts of a URL (RFC 3986's regular expression, one extract per column)
and percent-encoding of the characters Data Prep lists."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.mappings.evaluation import Context, text
from lakefeed.mappings.registry import boolean_constant, function

_URL = (
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):)?(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "sftp": 22, "ssh": 22, "ws": 80, "wss": 443}
#: Data Prep's reserved characters; "%" first so that encoding does not encode its own output.
_RESERVED = "% !\"#$&'()*+,/:;<=>?@[\\]^`~|"


def _parts(value: pa.Array, name: str) -> dict[str, pa.Array]:
    struct = pc.extract_regex(text(value, name), _URL)
    return {
        key: pc.struct_field(struct, [i])
        for i, key in enumerate(("scheme", "authority", "path", "query", "fragment"))
    }


def _blank_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _host_port(parts: dict[str, pa.Array]) -> tuple[pa.Array, pa.Array]:
    server = pc.replace_substring_regex(parts["authority"], r"^.*@", "")
    pieces = pc.extract_regex(server, r"^(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>\d*))?$")
    host = _blank_null(pc.struct_field(pieces, [0]))
    port = _blank_null(pc.struct_field(pieces, [1]))
    return host, port


@function("get_url_protocol", args=1)
def get_url_protocol(ctx: Context, url: pa.Array) -> pa.Array:
    """Null for text that is not a URL (no scheme)."""
    return _blank_null(_parts(url, "get_url_protocol()")["scheme"])


@function("get_url_host", args=1)
def get_url_host(ctx: Context, url: pa.Array) -> pa.Array:
    parts = _parts(url, "get_url_host()")
    host, _ = _host_port(parts)
    return pc.if_else(pc.equal(parts["scheme"], ""), pa.scalar(None, pa.string()), host)


@function("get_url_port", args=1)
def get_url_port(ctx: Context, url: pa.Array) -> pa.Array:
    """The port in the URL, else the scheme's usual port, else null."""
    parts = _parts(url, "get_url_port()")
    _, port = _host_port(parts)
    schemes = pa.array(list(_DEFAULT_PORTS))
    usual = pa.array(list(_DEFAULT_PORTS.values()), pa.int64()).take(
        pc.index_in(pc.utf8_lower(parts["scheme"]), value_set=schemes)
    )
    return pc.coalesce(port.cast(pa.int64()), usual)


@function("get_url_path", args=(1, 2), constants=(1,), check=boolean_constant(1))
def get_url_path(ctx: Context, url: pa.Array, full_path: Any = True) -> pa.Array:
    """The path; with ``full_path`` false, its last segment."""
    parts = _parts(url, "get_url_path()")
    path = pc.if_else(pc.equal(parts["scheme"], ""), pa.scalar(None, pa.string()), parts["path"])
    if full_path is False:
        return pc.replace_substring_regex(path, r"^.*/", "")
    return path


def _code(char: str) -> str:
    return f"%{ord(char):02X}"


@function("get_url_encoded", args=1)
def get_url_encoded(ctx: Context, url: pa.Array) -> pa.Array:
    """Each of Data Prep's reserved characters as %XX; other characters as they are."""
    values = text(url, "get_url_encoded()")
    for char in _RESERVED:
        values = pc.replace_substring(values, char, _code(char))
    return values


@function("get_url_decoded", args=1)
def get_url_decoded(ctx: Context, url: pa.Array) -> pa.Array:
    """%XX (either case) back to the reserved character it encodes."""
    values = text(url, "get_url_decoded()")
    for char in reversed(_RESERVED):
        code = _code(char)
        values = pc.replace_substring(values, code, char)
        if code.lower() != code:
            values = pc.replace_substring(values, code.lower(), char)
    return values
