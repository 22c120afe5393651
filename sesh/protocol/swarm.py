"""Swarms: which service nodes store which Session IDs' messages. Pure: no I/O, no clock.

The algorithm is the Oxen/Session service-node swarm algorithm (min 5, ideal 7, max 10;
fill the smallest quartile, steal from the top quartile, split on excess, dissolve
under-size swarms, new swarm id at the midpoint of the largest gap of the 64-bit ring),
driven by a deterministic random stream seeded by a block hash. `docs/protocol.md`
("Swarms") specifies every step and tie-break so that another implementation computes
the same map; `tests/protocol/vectors/swarms.json` holds published test vectors.

The map is incremental: each block that changes the set of nodes serving in swarms
updates the previous map (`update_swarms`), so every node must replay the same history.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import struct
from collections.abc import Iterable, Mapping, Sequence

from sesh.protocol.hexes import from_hex

MIN_SWARM_SIZE = 5
IDEAL_SWARM_MARGIN = 2
IDEAL_SWARM_SIZE = MIN_SWARM_SIZE + IDEAL_SWARM_MARGIN  # 7
MAX_SWARM_SIZE = 10
# Swarms hold "excess" beyond this many nodes; excess beyond the threshold makes new swarms.
EXCESS_BASE = MIN_SWARM_SIZE
NEW_SWARM_SIZE = IDEAL_SWARM_SIZE
# New nodes go to a random swarm among the smallest quarter.
FILL_SWARM_LOWER_PERCENTILE = 25
# Nodes of a dissolved swarm go to the smallest swarms.
DISSOLVED_REDISTRIBUTION_LOWER_PERCENTILE = 0
# Under-size swarms steal from swarms above the top quarter's size.
STEALING_SWARM_UPPER_PERCENTILE = 75

RING = 1 << 64
FIRST_SWARM_ID = 0
# Domain separation of the random stream (see docs/protocol.md, "Swarms").
RANDOM_DOMAIN = b"SESH_SWARMS_V1"

SwarmMap = dict[int, list[int]]


class SwarmRandom:
    """The deterministic random stream of one swarm update.

    Word `i` (0, 1, 2, ...) is bytes `8*(i % 4)` to `8*(i % 4) + 8`, big-endian, of
    `SHA-256(domain || seed || uint64_be(i // 4))`, the domain `RANDOM_DOMAIN` for swarms
    (peer tests use their own). `uniform(n)` draws words until one is below the largest
    multiple of `n` that fits in 64 bits, and returns it mod `n`.
    """

    def __init__(self, seed: bytes, domain: bytes = RANDOM_DOMAIN):
        if len(seed) != 32:
            raise ValueError(f"swarm seed must be a 32-byte block hash, got {len(seed)} bytes")
        self._prefix = domain + seed
        self._counter = 0
        self._words: list[int] = []

    def next_u64(self) -> int:
        if not self._words:
            block = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            # Reversed so that pop() hands them out first to last.
            self._words = list(struct.unpack(">4Q", block))[::-1]
        return self._words.pop()

    def uniform(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        if n <= 0:
            raise ValueError("uniform(n) needs n > 0")
        limit = RING - RING % n
        while True:
            x = self.next_u64()
            if x < limit:
                return x % n


def swarm_space(pubkey: bytes) -> int:
    """Where a 32-byte account key sits on the swarm ring: the XOR of its four 8-byte
    big-endian words (as Session's storage server computes it)."""
    if len(pubkey) != 32:
        raise ValueError(f"swarm_space needs a 32-byte key, got {len(pubkey)} bytes")
    a, b, c, d = struct.unpack(">4Q", pubkey)
    return a ^ b ^ c ^ d


def parse_session_id(text: str) -> bytes:
    """The 32-byte key of a Session ID: 66 hex digits (a 1-byte prefix such as `05`, then
    the key) or the bare 64-digit key. Raises ValueError with the reason otherwise."""
    text = text.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if len(text) not in (64, 66):
        raise ValueError(f"a Session ID has 66 hex digits (or 64 without prefix), not {len(text)}")
    try:
        raw = from_hex(text)
    except ValueError:
        raise ValueError("a Session ID is hexadecimal") from None
    return raw[-32:]


def closest_swarm(space: int, swarm_ids: Sequence[int]) -> int:
    """The swarm id closest to `space` on the 64-bit ring; a tie goes to the swarm on the
    lower side (counter-clockwise), as in Session's storage server. `swarm_ids` is sorted
    and non-empty."""
    if not swarm_ids:
        raise ValueError("no swarms")
    i = bisect.bisect_left(swarm_ids, space)
    right = swarm_ids[i] if i < len(swarm_ids) else swarm_ids[0]
    left = swarm_ids[i - 1]  # i == 0 wraps to the last swarm
    if (right - space) % RING < (space - left) % RING:
        return right
    return left


class SwarmLookup:
    """Session ID → swarm id, over a fixed set of swarms (rebuilt when swarms change)."""

    def __init__(self, swarm_ids: Iterable[int]):
        self.ids = sorted(swarm_ids)

    def swarm_for_key(self, pubkey: bytes) -> int | None:
        if not self.ids:
            return None
        return closest_swarm(swarm_space(pubkey), self.ids)


def update_swarms(
    swarms: Mapping[int, Sequence[int]],
    joins: Iterable[int],
    leaves: Iterable[int],
    seed: bytes,
) -> SwarmMap:
    """The swarm map after `joins` entered and `leaves` left the set of serving nodes, in
    the block whose hash is `seed`. `swarms` is not modified.

    Steps (docs/protocol.md): remove leavers; assign joiners to the smallest quarter;
    steal for under-size swarms; create swarms from excess; dissolve under-size swarms.
    """
    state = SwarmState(swarms)
    state.update(joins, leaves, seed)
    return state.result()


class SwarmState:
    """A swarm map updated in place, block after block (what the registry keeps).

    `update` returns the members each changed swarm had before it (None for a swarm that
    did not exist), which is what the registry journals for rollbacks.
    """

    def __init__(self, swarms: Mapping[int, Sequence[int]] | None = None):
        self._work = _Swarms(swarms or {})

    @property
    def members(self) -> Mapping[int, list[int]]:
        """swarm id -> sorted node ids (read only)."""
        return self._work.members

    def result(self) -> SwarmMap:
        return self._work.result()

    def update(
        self, joins: Iterable[int], leaves: Iterable[int], seed: bytes
    ) -> dict[int, list[int] | None]:
        work = self._work
        join_list = sorted(set(joins))
        leave_set = set(leaves)
        overlap = leave_set.intersection(join_list)
        if overlap:
            raise ValueError(f"nodes both join and leave: {sorted(overlap)}")
        for node in join_list:
            if node in work.swarm_of:
                raise ValueError(f"node {node} joins but is already in swarm {work.swarm_of[node]}")
        for node in leave_set:
            if node not in work.swarm_of:
                raise ValueError(f"node {node} leaves but is in no swarm")
        work.touched = {}
        if not join_list and not leave_set:
            return work.touched
        for node in sorted(leave_set):
            work.remove_node(node)
        rng = SwarmRandom(seed)
        if not work.ids and join_list:
            work.add_swarm(FIRST_SWARM_ID, [])
        work.assign(join_list, rng, FILL_SWARM_LOWER_PERCENTILE)
        work.robin_hood(rng)
        work.create_from_excess(rng)
        work.dissolve_undersize(rng)
        if work.node_count == 0:
            for sid in list(work.ids):
                work.remove_swarm(sid)
        touched, work.touched = work.touched, None
        return touched


class _Swarms:
    """The working state of one update, indexed for speed: members sorted by node id,
    swarm ids sorted, swarms bucketed by size, the creation pool's weights by chunk of
    swarm ids, and the gaps of the ring in a heap."""

    CHUNK = 32

    def __init__(self, swarms: Mapping[int, Sequence[int]]):
        self.members: dict[int, list[int]] = {}
        self.swarm_of: dict[int, int] = {}
        self.ids: list[int] = []
        # size -> sorted swarm ids of that size
        self.buckets: dict[int, list[int]] = {}
        self.node_count = 0
        # While an update runs: swarm id -> its members before the update (None: new).
        self.touched: dict[int, list[int] | None] | None = None
        for sid in sorted(swarms):
            if not 0 <= sid < RING:
                raise ValueError(f"swarm id {sid} is not a uint64")
            nodes = sorted(swarms[sid])
            self.members[sid] = nodes
            for n in nodes:
                if n in self.swarm_of:
                    raise ValueError(f"node {n} is in two swarms")
                self.swarm_of[n] = sid
            self.node_count += len(nodes)
            self.ids.append(sid)
            self.buckets.setdefault(len(nodes), []).append(sid)
        self._rebuild_chunks()
        self._rebuild_gaps()

    # ----- reading

    def size(self, sid: int) -> int:
        return len(self.members[sid])

    def result(self) -> SwarmMap:
        return {sid: list(self.members[sid]) for sid in self.ids}

    def _by_size(self) -> list[tuple[int, int]]:
        """(size, swarm id) of every swarm, ascending."""
        return [(size, sid) for size in sorted(self.buckets) for sid in self.buckets[size]]

    def _kth_by_size(self, k: int) -> tuple[int, int]:
        for size in sorted(self.buckets):
            bucket = self.buckets[size]
            if k < len(bucket):
                return size, bucket[k]
            k -= len(bucket)
        raise IndexError(k)

    def _count_up_to(self, size_limit: int) -> int:
        return sum(len(b) for s, b in self.buckets.items() if s <= size_limit)

    def excess(self) -> int:
        return sum((s - EXCESS_BASE) * len(b) for s, b in self.buckets.items() if s > EXCESS_BASE)

    def has_starving(self) -> bool:
        return any(b for s, b in self.buckets.items() if s < MIN_SWARM_SIZE)

    # ----- changing, keeping every index in step

    def _set_size(self, sid: int, old: int, new: int) -> None:
        bucket = self.buckets[old]
        del bucket[bisect.bisect_left(bucket, sid)]
        if not bucket:
            del self.buckets[old]
        bisect.insort(self.buckets.setdefault(new, []), sid)
        chunk = self._chunk_of[sid]
        self._chunk_weight[chunk] += _pool_weight(new) - _pool_weight(old)

    def _touch(self, sid: int) -> None:
        if self.touched is not None and sid not in self.touched:
            members = self.members.get(sid)
            self.touched[sid] = None if members is None else list(members)

    def add_node(self, sid: int, node: int) -> None:
        self._touch(sid)
        nodes = self.members[sid]
        bisect.insort(nodes, node)
        self.swarm_of[node] = sid
        self.node_count += 1
        self._set_size(sid, len(nodes) - 1, len(nodes))

    def take_node(self, sid: int, index: int) -> int:
        """Remove and return the `index`-th member (ascending node id) of swarm `sid`."""
        self._touch(sid)
        nodes = self.members[sid]
        node = nodes.pop(index)
        del self.swarm_of[node]
        self.node_count -= 1
        self._set_size(sid, len(nodes) + 1, len(nodes))
        return node

    def remove_node(self, node: int) -> bool:
        sid = self.swarm_of.get(node)
        if sid is None:
            return False
        self.take_node(sid, bisect.bisect_left(self.members[sid], node))
        return True

    def add_swarm(self, sid: int, nodes: list[int]) -> None:
        if sid in self.members:
            raise AssertionError(f"swarm id {sid} already exists")
        self._touch(sid)
        nodes = sorted(nodes)
        self.members[sid] = nodes
        for n in nodes:
            self.swarm_of[n] = sid
        self.node_count += len(nodes)
        i = bisect.bisect_left(self.ids, sid)
        self.ids.insert(i, sid)
        bisect.insort(self.buckets.setdefault(len(nodes), []), sid)
        self._insert_chunk(sid, len(nodes))
        self._gaps_after_insert(i)

    def remove_swarm(self, sid: int) -> list[int]:
        self._touch(sid)
        nodes = self.members.pop(sid)
        for n in nodes:
            del self.swarm_of[n]
        self.node_count -= len(nodes)
        i = bisect.bisect_left(self.ids, sid)
        del self.ids[i]
        bucket = self.buckets[len(nodes)]
        del bucket[bisect.bisect_left(bucket, sid)]
        if not bucket:
            del self.buckets[len(nodes)]
        self._remove_chunk(sid, len(nodes))
        self._gaps_after_remove(i)
        return nodes

    # ----- the creation pool: every member of every swarm above EXCESS_BASE, in swarm id
    # order then node id order. Chunks of swarm ids carry the pool size of their swarms,
    # so a uniform pick costs O(chunks + CHUNK) instead of O(swarms).

    def _rebuild_chunks(self) -> None:
        step = self.CHUNK
        self._chunks = [self.ids[i : i + step] for i in range(0, len(self.ids), step)] or [[]]
        self._chunk_of = {}
        self._chunk_weight = []
        for c, chunk in enumerate(self._chunks):
            for sid in chunk:
                self._chunk_of[sid] = c
            self._chunk_weight.append(sum(_pool_weight(len(self.members[s])) for s in chunk))

    def _insert_chunk(self, sid: int, size: int) -> None:
        c = max(0, bisect.bisect_right([ch[0] if ch else -1 for ch in self._chunks], sid) - 1)
        bisect.insort(self._chunks[c], sid)
        self._chunk_of[sid] = c
        self._chunk_weight[c] += _pool_weight(size)
        if len(self._chunks[c]) > 2 * self.CHUNK:
            self._rebuild_chunks()

    def _remove_chunk(self, sid: int, size: int) -> None:
        c = self._chunk_of.pop(sid)
        chunk = self._chunks[c]
        del chunk[bisect.bisect_left(chunk, sid)]
        self._chunk_weight[c] -= _pool_weight(size)
        if not chunk and len(self._chunks) > 1:
            self._rebuild_chunks()

    def _pick_from_creation_pool(self, rng: SwarmRandom) -> tuple[int, int] | None:
        total = sum(self._chunk_weight)
        if total == 0:
            return None
        r = rng.uniform(total)
        for c, weight in enumerate(self._chunk_weight):
            if r < weight:
                for sid in self._chunks[c]:
                    w = _pool_weight(len(self.members[sid]))
                    if r < w:
                        return sid, r
                    r -= w
            r -= weight
        raise AssertionError("pool weights out of step")

    def _pick_from_pool(self, threshold: int, rng: SwarmRandom) -> tuple[int, int] | None:
        """A uniform member of the swarms with more than `threshold` members (swarm id
        order, then node id order), as (swarm id, member index)."""
        if threshold == EXCESS_BASE:
            return self._pick_from_creation_pool(rng)
        eligible = [sid for sid in self.ids if len(self.members[sid]) > threshold]
        total = sum(len(self.members[sid]) for sid in eligible)
        if total == 0:
            return None
        r = rng.uniform(total)
        for sid in eligible:
            size = len(self.members[sid])
            if r < size:
                return sid, r
            r -= size
        raise AssertionError("unreachable")

    # ----- gaps of the ring, largest first: (-gap, wraps, left id, right id). Among equal
    # gaps the one that does not wrap, then the lowest left id, wins.

    def _rebuild_gaps(self) -> None:
        self._gaps: list[tuple[int, int, int, int]] = []
        for i in range(len(self.ids)):
            self._push_gap(i)
        heapq.heapify(self._gaps)

    def _push_gap(self, i: int) -> None:
        """Push the gap that starts at ids[i]."""
        ids = self.ids
        left = ids[i]
        if i + 1 < len(ids):
            right = ids[i + 1]
            heapq.heappush(self._gaps, (-(right - left), 0, left, right))
        else:
            right = ids[0]
            heapq.heappush(self._gaps, (-(RING - left + right), 1, left, right))

    def _gaps_after_insert(self, i: int) -> None:
        n = len(self.ids)
        self._push_gap((i - 1) % n)
        self._push_gap(i)

    def _gaps_after_remove(self, i: int) -> None:
        if self.ids:
            self._push_gap((i - 1) % len(self.ids))

    def _gap_is_current(self, left: int, right: int, wraps: int) -> bool:
        ids = self.ids
        i = bisect.bisect_left(ids, left)
        if i == len(ids) or ids[i] != left:
            return False
        if wraps:
            return i == len(ids) - 1 and ids[0] == right
        return i + 1 < len(ids) and ids[i + 1] == right

    def new_swarm_id(self) -> int:
        """The midpoint of the largest gap between neighbouring swarm ids on the ring."""
        if not self.ids:
            return FIRST_SWARM_ID
        while True:
            neg_gap, wraps, left, right = self._gaps[0]
            if self._gap_is_current(left, right, wraps):
                return (left + (-neg_gap) // 2) % RING
            heapq.heappop(self._gaps)

    # ----- the algorithm's steps

    def assign(self, nodes: list[int], rng: SwarmRandom, percentile: int) -> None:
        """Each node, in order, to a random swarm among those no larger than the
        `percentile`-th smallest; split a swarm that grew past MAX_SWARM_SIZE; then make
        new swarms from excess."""
        for node in nodes:
            count = len(self.ids)
            value, _ = self._kth_by_size(percentile * (count - 1) // 100)
            candidates = self._count_up_to(value)
            _, sid = self._kth_by_size(rng.uniform(candidates))
            self.add_node(sid, node)
            if self.size(sid) > MAX_SWARM_SIZE:
                self.split(sid, rng)
            self.create_from_excess(rng)

    def split(self, sid: int, rng: SwarmRandom) -> None:
        """Move half (rounded down) of an oversize swarm's members, picked at random one
        at a time, into a new swarm."""
        moving = [
            self.take_node(sid, rng.uniform(self.size(sid))) for _ in range(self.size(sid) // 2)
        ]
        self.add_swarm(self.new_swarm_id(), moving)

    def create_from_excess(self, rng: SwarmRandom) -> None:
        """While the excess above EXCESS_BASE is at least NEW_SWARM_SIZE plus
        IDEAL_SWARM_MARGIN per swarm, build a new swarm of NEW_SWARM_SIZE nodes picked one
        at a time from the swarms above EXCESS_BASE. Nothing while any swarm starves."""
        if self.has_starving():
            return
        while self.excess() >= NEW_SWARM_SIZE + len(self.ids) * IDEAL_SWARM_MARGIN:
            picked = []
            for _ in range(NEW_SWARM_SIZE):
                choice = self._pick_from_pool(EXCESS_BASE, rng)
                if choice is None:  # cannot happen while the excess condition holds
                    raise AssertionError("excess pool empty")
                picked.append(self.take_node(*choice))
            self.add_swarm(self.new_swarm_id(), picked)

    def robin_hood(self, rng: SwarmRandom) -> None:
        """Under-size swarms, smallest first, steal random nodes from the swarms above the
        75th-percentile size until they reach MIN_SWARM_SIZE; stop at the first swarm that
        the available excess cannot save."""
        snapshot = self._by_size()
        count = len(snapshot)
        if count == 0:
            return
        rich_size = snapshot[STEALING_SWARM_UPPER_PERCENTILE * (count - 1) // 100][0]
        threshold = max(MIN_SWARM_SIZE, rich_size - 1)
        for size, poor in snapshot:
            if size >= MIN_SWARM_SIZE:
                break
            while self.size(poor) < MIN_SWARM_SIZE:
                rich = [s for s in self.ids if self.size(s) > threshold]
                excess = sum(self.size(s) - MIN_SWARM_SIZE for s in rich)
                if excess < MIN_SWARM_SIZE - self.size(poor):
                    return
                choice = self._pick_from_pool(threshold, rng)
                assert choice is not None
                self.add_node(poor, self.take_node(*choice))

    def dissolve_undersize(self, rng: SwarmRandom) -> None:
        """While there is more than one swarm and some swarm has fewer than
        MIN_SWARM_SIZE members, dissolve the one with the lowest id and assign its
        members (ascending) to the smallest swarms."""
        while len(self.ids) > 1:
            starving = [sid for sid in self.ids if self.size(sid) < MIN_SWARM_SIZE]
            if not starving:
                return
            nodes = self.remove_swarm(starving[0])
            self.assign(nodes, rng, DISSOLVED_REDISTRIBUTION_LOWER_PERCENTILE)


def _pool_weight(size: int) -> int:
    """A swarm's share of the creation pool: all its members if above EXCESS_BASE."""
    return size if size > EXCESS_BASE else 0


def check_bounds(swarms: Mapping[int, Sequence[int]]) -> str | None:
    """Why `swarms` breaks the size bounds, or None: with N >= MIN_SWARM_SIZE nodes every
    swarm holds MIN..MAX nodes; with fewer there is one swarm holding them all (none for
    no nodes)."""
    total = sum(len(m) for m in swarms.values())
    if total == 0:
        return None if not swarms else f"{len(swarms)} swarms but no nodes"
    if total < MIN_SWARM_SIZE:
        return None if len(swarms) == 1 else f"{total} nodes in {len(swarms)} swarms"
    for sid, members in swarms.items():
        if not MIN_SWARM_SIZE <= len(members) <= MAX_SWARM_SIZE:
            return f"swarm {sid} has {len(members)} nodes"
    return None
