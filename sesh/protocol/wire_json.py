"""JSON from the network, with its nesting bounded before any parser recurses into it.

Python's JSON decoder recurses once per level of nesting: with the interpreter's usual
limit a deep document is a RecursionError, but a library that raises the limit (py_ecc
and py-evm set it to 100,000) turns `[[[[…` into a C stack overflow that kills the
process. No request of ours nests deeper than a few levels, so a document nesting deeper
than MAX_DEPTH is refused before it is parsed.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32

# Brackets only, `{}` counted as `[]`: nesting is nesting, whichever the kind.
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_TOO_DEEP = b"[" * (MAX_DEPTH + 1)
# Past this many quotes (with more than MAX_DEPTH brackets too) a document is refused
# unchecked: telling strings apart costs time per quote, and no request of ours comes
# near (a catch-up page of 1,000 entries has about 30,000).
MAX_QUOTES = 200_000


class JsonTooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels (or too large to check)")


def too_deep(raw: bytes) -> bool:
    """Whether a parser would descend more than MAX_DEPTH levels into `raw`: a well-formed
    document nesting deeper than that, or more than MAX_DEPTH brackets left open (brackets
    inside strings do not count). Linear in the size of `raw` (C-speed passes, at most
    MAX_DEPTH + 1 of them; documents with more than MAX_QUOTES quotes are refused
    unchecked), so it is no lever for an attacker either."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    # Escaped backslashes, then escaped quotes, go; then every other quote opens or closes
    # a string, and what lies outside strings is every second piece between quotes.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    if unescaped.count(b'"') > MAX_QUOTES:
        return True
    outside = b"".join(unescaped.split(b'"')[::2])
    brackets = outside.translate(_SQUARE, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH + 1):
        if _TOO_DEEP in brackets:
            return True
        # One level: every innermost pair (replace does not look again at what it joined).
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return brackets.count(b"[") > MAX_DEPTH
        brackets = inner
    return True


def loads(raw: bytes | str) -> Any:
    """`json.loads`, refusing documents nested deeper than MAX_DEPTH (JsonTooDeep, a
    ValueError like every other refusal)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if too_deep(data):
        raise JsonTooDeep()
    return json.loads(raw)
