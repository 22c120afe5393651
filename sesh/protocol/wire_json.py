"""JSON from the network, with its nesting bounded before any parser recurses into it.

Python's JSON decoder recurses once per level of nesting: with the interpreter's usual
limit a deep document is a RecursionError, but a library that raises the limit (py_ecc
and py-evm set it to 100,000) turns `[[[[…` into a C stack overflow that kills the
process. No request of ours nests deeper than a few levels, so a document nesting deeper
than MAX_DEPTH is refused before it is parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32

# A JSON string (escapes included): brackets inside one do not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JsonTooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def nesting(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in `raw` (brackets in strings ignored;
    for malformed JSON, an upper bound of what a parser would recurse into)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return raw.count(b"[") + raw.count(b"{")
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def loads(raw: bytes | str) -> Any:
    """`json.loads`, refusing documents nested deeper than MAX_DEPTH (JsonTooDeep, a
    ValueError like every other refusal)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if nesting(data) > MAX_DEPTH:
        raise JsonTooDeep()
    return json.loads(raw)
