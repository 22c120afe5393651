"""JSON from the network with bounded nesting (sesh/protocol/wire_json.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sesh.protocol.wire_json import MAX_DEPTH, JsonTooDeep, loads, nesting

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=30,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_wire_json__nesting_is_the_documents_depth_whatever_its_strings_hold(value):
    raw = json.dumps(value).encode()
    assert nesting(raw) >= depth(value)
    if depth(value) <= MAX_DEPTH:
        assert loads(raw) == value


def test_wire_json__brackets_inside_strings_do_not_count():
    raw = json.dumps({"text": "[" * 1000 + '\\"{' * 500, "list": [[1]]}).encode()
    assert nesting(raw) == 3
    assert loads(raw)["list"] == [[1]]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
        b"[" * 1_000_000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        "[" * 100,
    ],
)
def test_wire_json__documents_nested_too_deep_are_refused_before_parsing(raw):
    with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_DEPTH}"):
        loads(raw)


def test_wire_json__nesting_at_the_limit_is_parsed():
    raw = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert depth(loads(raw)) == MAX_DEPTH
