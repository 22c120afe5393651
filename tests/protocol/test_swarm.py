"""Swarms (pure): the random stream, the ring, the Session ID mapping, and the update
algorithm's bounds and determinism under any sequence of joins and leaves."""

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sesh.protocol.swarm import (
    MAX_SWARM_SIZE,
    MIN_SWARM_SIZE,
    RING,
    SwarmLookup,
    SwarmRandom,
    SwarmState,
    _Swarms,
    check_bounds,
    closest_swarm,
    parse_session_id,
    swarm_space,
    update_swarms,
)

VECTORS = Path(__file__).parent / "vectors" / "swarms.json"


def seed(label) -> bytes:
    return hashlib.sha256(str(label).encode()).digest()


# ----- the random stream


def test_random_stream__words_are_the_sha256_blocks_of_the_counter():
    rng = SwarmRandom(seed("s"))
    words = [rng.next_u64() for _ in range(8)]
    block0 = hashlib.sha256(b"SESH_SWARMS_V1" + seed("s") + (0).to_bytes(8, "big")).digest()
    block1 = hashlib.sha256(b"SESH_SWARMS_V1" + seed("s") + (1).to_bytes(8, "big")).digest()
    expected = [
        int.from_bytes(b[i : i + 8], "big") for b in (block0, block1) for i in (0, 8, 16, 24)
    ]
    assert words == expected


def test_random_stream__same_seed_same_draws_other_seed_other_draws():
    draws = [SwarmRandom(seed(1)).uniform(1000) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    a = SwarmRandom(seed(1))
    b = SwarmRandom(seed(2))
    assert [a.uniform(10**9) for _ in range(10)] != [b.uniform(10**9) for _ in range(10)]


@given(st.integers(1, 2**64), st.binary(min_size=32, max_size=32))
def test_random_stream__uniform_stays_in_range(n, block_hash):
    rng = SwarmRandom(block_hash)
    assert all(0 <= rng.uniform(n) < n for _ in range(5))


def test_random_stream__uniform_rejects_words_above_the_largest_multiple():
    # n = 2**63 + 1: only words below 2**63 + 1 are accepted, so every draw equals its word.
    n = 2**63 + 1
    words = SwarmRandom(seed("r"))
    rng = SwarmRandom(seed("r"))
    draw = rng.uniform(n)
    accepted = next(w for w in iter(words.next_u64, None) if w < n)
    assert draw == accepted


def test_random_stream__refuses_a_seed_that_is_not_32_bytes_and_an_empty_range():
    with pytest.raises(ValueError, match="32-byte"):
        SwarmRandom(b"short")
    with pytest.raises(ValueError, match="n > 0"):
        SwarmRandom(seed(0)).uniform(0)


# ----- Session ID -> swarm (vectors published by Session's libsession-util tests)

SESSION_SPACE_VECTORS = [
    ("3506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8", 17589930838143112648),
    ("cf27da303a50ac8c4b2d43d27259505c9bcd73fc21cf2a57902c3d050730b604", 10370619079776428163),
    ("d3511706b8b34f6e8411bf07bd22ba6b2435ca56846fbccf6eb1e166a6cd15cc", 2144983569669512198),
    ("0f06693428fca9102a451e3f28d9cc743d8ea60a89ab6aa69eb119470c11cbd3", 9690840703409570833),
    ("ffba630924aa1224bb930dde21c0d11bf004608f2812217f8ac812d6c7e3ad48", 4532060000165252872),
    ("eeeeeeeeeeeeeeee777777777777777711111111111111118888888888888888", 0),
    ("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", 1),
    ("ffffffffffffffffffffffffffffffffffffffffffffffff7fffffffffffffff", 1 << 63),
    ("000000000000000000000000000000000000000000000000ffffffffffffffff", RING - 1),
]


@pytest.mark.parametrize("key,space", SESSION_SPACE_VECTORS)
def test_swarm_space__matches_sessions_published_values(key, space):
    assert swarm_space(bytes.fromhex(key)) == space


@given(st.binary(min_size=32, max_size=32))
def test_swarm_space__is_the_xor_of_the_four_big_endian_words(key):
    words = [int.from_bytes(key[i : i + 8], "big") for i in range(0, 32, 8)]
    assert swarm_space(key) == words[0] ^ words[1] ^ words[2] ^ words[3]


SWARMS = [100, 200, 300, 399, 498, 596, 694]


@pytest.mark.parametrize(
    "space,expected",
    [
        (100, 100),  # exact matches
        (200, 200),
        (498, 498),
        (0, 100),  # nearest
        (1, 100),
        (0x8000000000000000, 694),  # wraps: closest to the top
        (0xA000000000000000, 100),  # wraps: closest to the bottom
        (RING - 1, 100),
        (RING - 2, 100),
        (0x95, 100),  # midpoints go to the lower swarm
        (0x96, 100),
        (0x97, 200),
        (0xFA, 200),
        (0xFB, 300),
        (0x15D, 300),
        (0x15E, 399),
        (0x223, 498),
        (0x224, 596),
        (0x800000000000018D, 694),  # the long way round: the midpoint goes to the top swarm
        (0x800000000000018E, 100),
    ],
)
def test_closest_swarm__nearest_with_ties_to_the_lower_side_and_wraparound(space, expected):
    assert closest_swarm(space, SWARMS) == expected


def test_closest_swarm__tie_across_zero_goes_to_the_last_swarm_and_zero_beats_max():
    with_negative = [*SWARMS, RING - 20]
    assert closest_swarm(0x27, with_negative) == RING - 20
    assert closest_swarm(0x28, with_negative) == RING - 20
    assert closest_swarm(0x29, with_negative) == 100
    with_zero = [0, *with_negative]
    assert closest_swarm(RING - 1, with_zero) == 0
    assert closest_swarm(RING - 2, with_zero) == 0


@given(
    st.lists(st.integers(0, RING - 1), min_size=1, max_size=30, unique=True),
    st.integers(0, RING - 1),
)
def test_closest_swarm__no_swarm_is_strictly_closer(ids, space):
    ids.sort()
    chosen = closest_swarm(space, ids)

    def distance(sid):
        return min((sid - space) % RING, (space - sid) % RING)

    assert all(distance(chosen) <= distance(other) for other in ids)


def test_session_id__parses_prefixed_and_bare_keys_and_refuses_others():
    key = "3506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8"
    assert parse_session_id("05" + key) == bytes.fromhex(key)
    assert parse_session_id(key.upper()) == bytes.fromhex(key)
    with pytest.raises(ValueError, match="66 hex digits"):
        parse_session_id("05" + key[:-4])
    with pytest.raises(ValueError, match="hexadecimal"):
        parse_session_id("05" + "zz" * 32)


def test_swarm_lookup__maps_a_session_id_to_the_closest_swarm_and_none_without_swarms():
    key = bytes.fromhex("3506f4a71324b7dd114eddbf4e311f39dde243e1f2cb97c40db1961f70ebaae8")
    lookup = SwarmLookup([5, 17589930838143112000, 2**63])
    assert lookup.swarm_for_key(key) == 17589930838143112000
    assert SwarmLookup([]).swarm_for_key(key) is None


# ----- the update algorithm


def sizes(swarms):
    return sorted(len(m) for m in swarms.values())


def test_update__first_nodes_make_swarm_zero_and_fewer_than_five_stay_together():
    swarms = update_swarms({}, [1, 2, 3], [], seed(0))
    assert swarms == {0: [1, 2, 3]}
    assert update_swarms(swarms, [], [1, 2, 3], seed(1)) == {}


def test_update__eleven_nodes_split_into_two_swarms_within_bounds():
    swarms = update_swarms({}, range(1, 11), [], seed(0))
    assert sizes(swarms) == [10]
    swarms = update_swarms(swarms, [11], [], seed(1))
    assert sizes(swarms) == [5, 6]
    # The new swarm sits at the midpoint of the whole ring, opposite swarm 0.
    assert sorted(swarms) == [0, 2**63]


def test_update__new_swarm_id_is_the_midpoint_of_the_largest_gap_preferring_no_wrap():
    work = _Swarms({0: [1], 100: [2], 2**63: [3]})
    # Gaps: 0->100 (100), 100->2**63 (2**63 - 100), 2**63->0 wrapping (2**63): the wrap wins.
    assert work.new_swarm_id() == (2**63 + 2**62) % RING
    work = _Swarms({0: [1], 2**63: [2]})
    # Two equal gaps: the one that does not wrap wins.
    assert work.new_swarm_id() == 2**62


def test_update__does_not_modify_its_input_and_refuses_inconsistent_changes():
    swarms = update_swarms({}, range(1, 30), [], seed(0))
    copy = {k: list(v) for k, v in swarms.items()}
    update_swarms(swarms, range(30, 40), [1, 2], seed(1))
    assert swarms == copy
    with pytest.raises(ValueError, match="already in swarm"):
        update_swarms(swarms, [1], [], seed(2))
    with pytest.raises(ValueError, match="in no swarm"):
        update_swarms(swarms, [], [999], seed(2))
    with pytest.raises(ValueError, match="both join and leave"):
        update_swarms(swarms, [50], [50], seed(2))


def test_update__nothing_changes_without_joins_or_leaves():
    swarms = update_swarms({}, range(1, 30), [], seed(0))
    assert update_swarms(swarms, [], [], seed(9)) == swarms


@pytest.mark.parametrize("count", [2_000, 10_000])
def test_update__a_large_network_built_at_once_is_within_bounds(count):
    swarms = update_swarms({}, range(1, count + 1), [], seed(count))
    assert check_bounds(swarms) is None
    assert sum(len(m) for m in swarms.values()) == count


def test_swarm_state__before_images_restore_the_previous_map():
    state = SwarmState(update_swarms({}, range(1, 60), [], seed(0)))
    before_map = state.result()
    before = state.update(range(60, 75), range(1, 20), seed(1))
    after = state.result()
    assert after != before_map
    restored = dict(after)
    for sid, members in before.items():
        if members is None:
            restored.pop(sid, None)
        else:
            restored[sid] = members
    assert restored == before_map


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40), st.binary(min_size=32, max_size=32)),
        min_size=1,
        max_size=25,
    )
)
def test_update__two_independent_runs_of_the_same_history_agree(steps):
    def run():
        swarms, active, next_id = {}, [], 1
        for joins, leaves, block_hash in steps:
            leaving = active[: min(leaves, len(active))]
            joining = list(range(next_id, next_id + joins))
            next_id += joins
            swarms = update_swarms(swarms, joining, leaving, block_hash)
            active = [n for n in active if n not in leaving] + joining
        return swarms

    assert run() == run()


class SwarmMachine(RuleBasedStateMachine):
    """Any sequence of joins and leaves keeps every swarm within bounds and every active
    node in exactly one swarm (the model is the set of active nodes)."""

    def __init__(self):
        super().__init__()
        self.swarms: dict[int, list[int]] = {}
        self.active: set[int] = set()
        self.next_id = 1
        self.block = 0

    def _step(self, joins, leaves):
        self.block += 1
        self.swarms = update_swarms(self.swarms, joins, leaves, seed(("step", self.block)))
        self.active |= set(joins)
        self.active -= set(leaves)

    @rule(count=st.integers(1, 40))
    def join(self, count):
        joins = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        self._step(joins, [])

    @rule(data=st.data())
    def leave(self, data):
        if not self.active:
            return
        leaves = data.draw(st.lists(st.sampled_from(sorted(self.active)), max_size=30, unique=True))
        self._step([], leaves)

    @rule(data=st.data(), count=st.integers(0, 15))
    def churn(self, data, count):
        leaves = []
        if self.active:
            leaves = data.draw(
                st.lists(st.sampled_from(sorted(self.active)), max_size=15, unique=True)
            )
        joins = list(range(self.next_id, self.next_id + count))
        self.next_id += count
        self._step(joins, leaves)

    @invariant()
    def sizes_within_bounds(self):
        note(f"sizes {sizes(self.swarms)}")
        assert check_bounds(self.swarms) is None
        if len(self.active) >= MIN_SWARM_SIZE:
            assert all(MIN_SWARM_SIZE <= len(m) <= MAX_SWARM_SIZE for m in self.swarms.values())

    @invariant()
    def every_active_node_in_exactly_one_swarm(self):
        members = [n for m in self.swarms.values() for n in m]
        assert sorted(members) == sorted(self.active)


TestSwarmMachine = SwarmMachine.TestCase


# ----- published test vectors


def make_vectors() -> dict:
    """Vectors another implementation can check itself against (docs/protocol.md)."""
    stream = SwarmRandom(seed("vectors"))
    words = [str(stream.next_u64()) for _ in range(6)]
    draws_rng = SwarmRandom(seed("vectors"))
    uniform = [[n, draws_rng.uniform(n)] for n in (1, 2, 7, 1000, 2**63 + 1, 2**64)]
    keys = [hashlib.sha256(f"session-{i}".encode()).digest() for i in range(6)]
    steps = []
    swarms: dict[int, list[int]] = {}
    active: list[int] = []
    plan = [(12, 0), (30, 0), (0, 8), (25, 5), (3, 30), (0, 20), (40, 2)]
    next_id = 1
    for i, (joins, leaves) in enumerate(plan):
        joining = list(range(next_id, next_id + joins))
        next_id += joins
        leaving = active[: min(leaves, len(active))]
        block_hash = seed(("vector-block", i))
        swarms = update_swarms(swarms, joining, leaving, block_hash)
        active = [n for n in active if n not in leaving] + joining
        steps.append(
            {
                "seed": block_hash.hex(),
                "joins": joining,
                "leaves": leaving,
                "swarms": {str(k): v for k, v in sorted(swarms.items())},
            }
        )
    ids = sorted(swarms)
    return {
        "about": "sesh swarm vectors: see docs/protocol.md, section Swarms. Integers that may "
        "exceed 2**53 are decimal strings; swarm maps are keyed by decimal swarm id.",
        "random_stream": {
            "seed": seed("vectors").hex(),
            "first_words": words,
            "uniform": [[str(n), str(v)] for n, v in uniform],
        },
        "swarm_space": [[k.hex(), str(swarm_space(k))] for k in keys],
        "closest_swarm": {
            "swarm_ids": [str(i) for i in ids],
            "lookups": [[k.hex(), str(closest_swarm(swarm_space(k), ids))] for k in keys],
        },
        "updates": steps,
    }


def test_vectors__the_published_file_matches_the_code():
    expected = make_vectors()
    if os.environ.get("SESH_WRITE_VECTORS"):
        VECTORS.parent.mkdir(parents=True, exist_ok=True)
        VECTORS.write_text(json.dumps(expected, indent=1) + "\n")
    assert json.loads(VECTORS.read_text()) == expected


def test_vectors__every_published_step_is_within_bounds():
    for step in json.loads(VECTORS.read_text())["updates"]:
        assert check_bounds({int(k): v for k, v in step["swarms"].items()}) is None
