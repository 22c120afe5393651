"""Ape's per-test chain isolation still holds after the tests that connect Ape to chains of
their own (the devnet story, which runs before this module on the same worker: see
SHARED_GROUPS in tests/conftest.py): a block mined in one test is gone in the next. Without
isolation every later unit test would see the state its predecessors left (names taken,
nodes registered, balances spent)."""

from __future__ import annotations

HEIGHTS: list[int] = []


def test_isolation__a_test_mines_a_block(chain):
    HEIGHTS.append(chain.blocks.height)
    chain.mine()
    assert chain.blocks.height == HEIGHTS[0] + 1


def test_isolation__the_next_test_starts_from_the_same_block(chain):
    assert HEIGHTS, "runs after the test above"
    assert chain.blocks.height == HEIGHTS[0]
