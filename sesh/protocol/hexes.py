"""Hexadecimal as the wire writes it: digits only.

`bytes.fromhex` skips whitespace between bytes, so `"05ab cd…"` decodes to fewer bytes
than its length promises; every key and id read from a request goes through `from_hex`.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def from_hex(text: str) -> bytes:
    """The bytes of `text`, an even number of hex digits and nothing else; ValueError
    otherwise (spaces, signs, odd length)."""
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise ValueError("not an even number of hex digits")
    return bytes.fromhex(text)
