"""Bencode (the BitTorrent encoding), as Session's v4 onion requests use it. Pure.

    byte string  <decimal length>:<bytes>        "4:spam"
    integer      i<decimal>e                     "i-3e" (no leading zeros, no "-0")
    list         l<items>e
    dict         d<key><value>...e               keys are byte strings, sorted, unique

`encode` takes bytes, str (UTF-8), int, list/tuple and dict (str or bytes keys); `decode`
gives bytes, int, list and dict (bytes keys) and refuses anything but one canonical value.
"""

from __future__ import annotations

from typing import Any

# Deeper nesting than this is refused (Session's messages nest two levels).
MAX_DEPTH = 64


class BencodeError(ValueError):
    """Bytes that are not one canonical bencoded value; the message says where."""


def encode(value: Any) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Any, out: list[bytes]) -> None:
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        out += (str(len(value)).encode(), b":", bytes(value))
    elif isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    elif isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, (list, tuple)):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        keys = {(k.encode() if isinstance(k, str) else bytes(k)): v for k, v in value.items()}
        out.append(b"d")
        for key in sorted(keys):
            _encode(key, out)
            _encode(keys[key], out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes | memoryview) -> Any:
    """The one value `data` encodes (BencodeError if there is more, less or another form)."""
    view = memoryview(data)
    value, end = decode_prefix(view, 0)
    if end != len(view):
        raise BencodeError(f"{len(view) - end} bytes after the value")
    return value


def decode_prefix(data: memoryview, start: int, depth: int = 0) -> tuple[Any, int]:
    """(value, end) of the value starting at `start`."""
    if depth > MAX_DEPTH:
        raise BencodeError("nested too deeply")
    if start >= len(data):
        raise BencodeError("truncated")
    head = data[start]
    if head == ord("i"):
        end = _find(data, b"e", start + 1)
        digits = bytes(data[start + 1 : end])
        if not _canonical_int(digits):
            raise BencodeError(f"bad integer at byte {start}")
        return int(digits), end + 1
    if head == ord("l"):
        items, pos = [], start + 1
        while pos < len(data) and data[pos] != ord("e"):
            item, pos = decode_prefix(data, pos, depth + 1)
            items.append(item)
        if pos >= len(data):
            raise BencodeError("unterminated list")
        return items, pos + 1
    if head == ord("d"):
        result: dict[bytes, Any] = {}
        pos, last = start + 1, None
        while pos < len(data) and data[pos] != ord("e"):
            key, pos = decode_prefix(data, pos, depth + 1)
            if not isinstance(key, bytes):
                raise BencodeError(f"dict key at byte {pos} is not a byte string")
            if last is not None and key <= last:
                raise BencodeError("dict keys not sorted and unique")
            result[key], pos = decode_prefix(data, pos, depth + 1)
            last = key
        if pos >= len(data):
            raise BencodeError("unterminated dict")
        return result, pos + 1
    return string_at(data, start)


def string_at(data: memoryview, start: int) -> tuple[bytes, int]:
    """(byte string, end) of the string starting at `start`."""
    colon = _find(data, b":", start)
    digits = bytes(data[start:colon])
    if not digits.isdigit() or (len(digits) > 1 and digits[0] == ord("0")) or len(digits) > 12:
        raise BencodeError(f"bad string length at byte {start}")
    end = colon + 1 + int(digits)
    if end > len(data):
        raise BencodeError(f"string at byte {start} runs past the end")
    return bytes(data[colon + 1 : end]), end


def _find(data: memoryview, byte: bytes, start: int) -> int:
    # Lengths and integers are short: look only a little way ahead.
    window = bytes(data[start : start + 24])
    index = window.find(byte)
    if index < 0:
        raise BencodeError(f"no {byte.decode()!r} after byte {start}")
    return start + index


def _canonical_int(digits: bytes) -> bool:
    body = digits[1:] if digits.startswith(b"-") else digits
    if not body.isdigit():
        return False
    return not (body.startswith(b"0") and (len(body) > 1 or digits.startswith(b"-")))
