"""Regular expressions in expressions: RE2 syntax (Arrow's engine), checked when parsed."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_SPECIAL = set("\\.^$|?*+()[]{}")


def escape(text: str) -> str:
    """A pattern matching ``text`` literally."""
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def escape_in_class(char: str) -> str:
    """``char`` written inside ``[...]``."""
    return "\\" + char if char in "\\]^-[" else char


def check_regex(pattern: str) -> str | None:
    """None when RE2 accepts ``pattern``; otherwise the problem."""
    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        reason = str(exc).split(":", 1)[-1].strip()
        return (
            f"the regular expression {pattern!r} is not valid RE2 syntax ({reason}); "
            "look-arounds and back-references are not supported"
        )
    return None


def numbered_groups(pattern: str) -> tuple[str, int]:
    """``pattern`` with the whole match named ``g0`` and its capturing groups ``g1``,
    ``g2``… in order (Arrow extracts named groups only), and the number of groups."""
    out: list[str] = []
    count = 0
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append(char)
            i += 1
            continue
        if char == "[":
            start = i + 1
            start += pattern.startswith("^", start)
            start += pattern.startswith("]", start)  # a leading ] is a literal
            out.append(pattern[i:start])
            i = start
            in_class = True
            continue
        if char == "(":
            named = pattern.startswith("(?P<", i) or (
                pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!")
            )
            if named:
                count += 1
                out.append(f"(?P<g{count}>")
                i = pattern.index(">", i) + 1
                continue
            if not pattern.startswith("(?", i):
                count += 1
                out.append(f"(?P<g{count}>")
                i += 1
                continue
        out.append(char)
        i += 1
    return f"(?P<g0>{''.join(out)})", count
