"""Hashes (sha1, sha256, sha512, md5, crc32) and random ids (uuid, guid).

Arrow has no kernel for these digests, and none can be built from its arithmetic kernels at a
useful speed (a lock-step SHA-256 over uint32 columns costs about 3 µs a row, five times
hashlib's). So each value is hashed by hashlib, driven by ``map`` (C iterates; no Python
bytecode runs per value), and the digests come back as one buffer that becomes the result
column without per-row objects. When a column repeats its values (judged on its first 2,048),
each distinct value is hashed once.
"""

from __future__ import annotations

import array
import hashlib
import operator
import os
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakefeed.mappings.evaluation import Context, text
from lakefeed.mappings.registry import function

#: The character sets Data Prep names, and Python's codec for each (Java writes UTF-16 as
#: big-endian with a byte order mark).
CHARSETS = {
    "UTF-8": "utf-8",
    "UTF-16": "utf-16-be",
    "UTF-16BE": "utf-16-be",
    "UTF-16LE": "utf-16-le",
    "ISO-8859-1": "latin-1",
    "US-ASCII": "ascii",
}


def _charset_check(constants: dict[int, Any]) -> str | None:
    charset = constants.get(1, "UTF-8")
    if not isinstance(charset, str) or charset.upper() not in CHARSETS:
        return f"the character set {charset!r} is not one of {', '.join(CHARSETS)}"
    return None


def _encoded(strings: pa.Array, charset: str) -> list[bytes]:
    name = charset.upper()
    if name == "UTF-8":
        return strings.cast(pa.binary()).to_pylist()
    encode = operator.methodcaller("encode", CHARSETS[name], "replace")
    encoded = list(map(encode, strings.to_pylist()))
    if name == "UTF-16":  # Java writes a byte order mark before the text (none for "")
        return [b"\xfe\xff" + data if data else data for data in encoded]
    return encoded


def _hex_column(data: bytes, width: int, count: int) -> pa.Array:
    """``count`` strings of ``width`` hex digits from ``data`` (``count * width / 2`` bytes)."""
    offsets = array.array("i", range(0, width * count + 1, width))
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data.hex().encode())]
    )


def _digests(
    value: pa.Array, charset: str, name: str, digest: Callable[[list[bytes]], bytes], width: int
) -> pa.Array:
    strings = text(value, name)
    sample = strings.slice(0, 2048)
    if pc.count_distinct(sample).as_py() * 2 < len(sample):  # repetitive: hash each once
        encoded = pc.dictionary_encode(strings)
        distinct = encoded.dictionary
        hashed = _hex_column(digest(_encoded(distinct, charset)), width, len(distinct))
        return hashed.take(encoded.indices)
    hashed = _hex_column(digest(_encoded(strings.fill_null(""), charset)), width, len(strings))
    if strings.null_count:
        return pc.if_else(strings.is_valid(), hashed, pa.scalar(None, pa.string()))
    return hashed


def _hashlib(constructor: Callable[[bytes], Any]) -> Callable[[list[bytes]], bytes]:
    digest = operator.methodcaller("digest")
    return lambda values: b"".join(map(digest, map(constructor, values)))


def _crc32(values: list[bytes]) -> bytes:
    # Data Prep writes the checksum's bytes least significant first (crc32("my text") is
    # "8df92e80", the checksum being 0x802ef98d).
    return struct.pack(f"<{len(values)}I", *map(zlib.crc32, values))


@function("sha1", args=(1, 2), constants=(1,), check=_charset_check)
def sha1(ctx: Context, value: pa.Array, charset: str = "UTF-8") -> pa.Array:
    return _digests(value, charset, "sha1()", _hashlib(hashlib.sha1), 40)


@function("sha256", args=(1, 2), constants=(1,), check=_charset_check)
def sha256(ctx: Context, value: pa.Array, charset: str = "UTF-8") -> pa.Array:
    return _digests(value, charset, "sha256()", _hashlib(hashlib.sha256), 64)


@function("sha512", args=(1, 2), constants=(1,), check=_charset_check)
def sha512(ctx: Context, value: pa.Array, charset: str = "UTF-8") -> pa.Array:
    return _digests(value, charset, "sha512()", _hashlib(hashlib.sha512), 128)


@function("md5", args=(1, 2), constants=(1,), check=_charset_check)
def md5(ctx: Context, value: pa.Array, charset: str = "UTF-8") -> pa.Array:
    return _digests(value, charset, "md5()", _hashlib(hashlib.md5), 32)


@function("crc32", args=(1, 2), constants=(1,), check=_charset_check)
def crc32(ctx: Context, value: pa.Array, charset: str = "UTF-8") -> pa.Array:
    return _digests(value, charset, "crc32()", _crc32, 8)


_VERSION_AND = bytes([0xFF] * 6 + [0x0F, 0xFF, 0x3F] + [0xFF] * 7)
_VERSION_OR = bytes([0] * 6 + [0x40, 0, 0x80] + [0] * 7)


@function("uuid", "guid", args=0)
def uuid(ctx: Context) -> pa.Array:
    """Random (version 4) UUIDs, one per row, from one call to the system's random source."""
    n = ctx.num_rows
    random = pa.py_buffer(os.urandom(16 * n))

    def uint8(buffer: Any) -> pa.Array:
        return pa.Array.from_buffers(pa.uint8(), 16 * n, [None, buffer])

    versioned = pc.bit_wise_or(
        pc.bit_wise_and(uint8(random), uint8(pa.py_buffer(_VERSION_AND * n))),
        uint8(pa.py_buffer(_VERSION_OR * n)),
    )
    digits = _hex_column(versioned.buffers()[1].to_pybytes()[: 16 * n], 32, n)
    groups = [
        pc.utf8_slice_codeunits(digits, a, b)
        for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    ]
    return pc.binary_join_element_wise(*groups, "-")
