"""JSON from the network with bounded nesting (sesh/protocol/wire_json.py)."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sesh.protocol.wire_json import MAX_DEPTH, MAX_QUOTES, JsonTooDeep, loads, too_deep

BRACKETY_TEXT = st.text(alphabet='[]{}"\\ab', max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | BRACKETY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(BRACKETY_TEXT, inner, max_size=3),
    max_leaves=40,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def nested(levels: int, kinds: str = "[") -> object:
    value: object = 1
    for i in range(levels):
        value = [value] if kinds[i % len(kinds)] == "[" else {"k": value}
    return value


@given(JSON_VALUES, st.integers(0, 40), st.sampled_from(["[", "{", "[{"]))
def test_wire_json__a_document_is_too_deep_exactly_when_it_nests_past_the_limit(
    value, extra, kinds
):
    """Whatever brackets, quotes and backslashes its strings hold."""
    document = [value, nested(extra, kinds)]
    raw = json.dumps(document).encode()
    assert too_deep(raw) == (depth(document) > MAX_DEPTH)
    if depth(document) <= MAX_DEPTH:
        assert loads(raw) == document


def test_wire_json__brackets_inside_strings_neither_add_nor_hide_depth():
    in_strings = json.dumps({"text": "[" * 1000 + '\\"{' * 500, "list": [[1]]}).encode()
    assert not too_deep(in_strings) and loads(in_strings)["list"] == [[1]]
    # Strings of closing brackets between real openings: the openings still count.
    hiding = b'["]",' * (MAX_DEPTH + 1) + b"1" + b"]" * (MAX_DEPTH + 1)
    assert too_deep(hiding)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), id="one-past"),
        pytest.param(b"[" * 1_000_000, id="a-million-open"),
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, id="objects"),
        pytest.param("[" * 100, id="text"),
        pytest.param(b"[1," * (MAX_DEPTH + 1), id="unclosed"),
    ],
)
def test_wire_json__documents_nested_too_deep_are_refused_before_parsing(raw):
    with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_DEPTH}"):
        loads(raw)


def test_wire_json__nesting_at_the_limit_and_shallow_malformed_json_are_left_to_the_parser():
    raw = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert depth(loads(raw)) == MAX_DEPTH
    for malformed in (b"[1,2", b"]]]]" * 100, b'"' * 1001, b"{" * 5 + b"}" * 100):
        assert not too_deep(malformed)
        with pytest.raises(ValueError):
            loads(malformed)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[]" * 5_000_000, id="pairs"),
        pytest.param(b"[" * 10_000_000, id="open"),
        pytest.param(b'""' * 5_000_000 + b"[" * 40, id="quotes"),
        pytest.param(b'"\\"' * 3_000_000 + b"[" * 40, id="escapes"),
        pytest.param(b"[[]" * 3_000_000, id="stairs"),
    ],
)
def test_wire_json__checking_10_mb_of_hostile_json_takes_well_under_a_second(raw):
    started = time.perf_counter()
    too_deep(raw)
    assert time.perf_counter() - started < 1.5


def test_wire_json__past_the_quote_limit_a_bracketed_document_is_refused_unchecked():
    many = b'["",' + b'"",' * MAX_QUOTES + b'""' + b"]" + b"[" * MAX_DEPTH
    assert too_deep(many)
    assert not too_deep(b'""' * MAX_QUOTES)  # no brackets: nothing to check
