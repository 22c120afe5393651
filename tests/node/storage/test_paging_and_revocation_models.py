"""Properties against models written from Session's rules, on a real SQLite message store:

- paging: walking an account's messages page by page with `last_hash` visits each message
  exactly once, in arrival order forwards and the reverse with `reverse_direction`;
- the revoked list: after any sequence of revocations and unrevocations it holds exactly
  the latest 50 tokens revoked and not unrevoked since (a token revoked again is new)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sesh.node.storage.messages import Message, MessageDB
from sesh.protocol.storage_rpc import MAX_REVOKED_TOKENS, message_hash

ACCOUNT = bytes([3]) + bytes(range(32))
NOW = 1_800_000_000_000
_counter = itertools.count()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(count=st.integers(0, 30), page=st.integers(1, 7), reverse=st.booleans())
def test_paging__every_message_once_in_arrival_order_or_its_reverse(tmp_path, count, page, reverse):
    db = MessageDB(tmp_path / f"paging-{next(_counter)}.sqlite3", 64 << 20)
    arrived = []
    for i in range(count):
        data = b"message %d" % i
        hash_ = message_hash(ACCOUNT, 0, data)
        db.store(Message(hash_, ACCOUNT, 0, NOW - i, NOW + 60_000, data))
        arrived.append(hash_)
    expected = list(reversed(arrived)) if reverse else arrived
    seen: list[str] = []
    last = None
    for _ in range(count + 2):
        found, more = db.retrieve(ACCOUNT, 0, last, NOW, page, None, reverse)
        seen += [row[0] for row in found]
        if not more:
            break
        last = found[-1][0]
    assert seen == expected
    db.close()


TOKENS = [bytes([3, 3, 0, 0]) + bytes([i]) * 32 for i in range(60)]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12)),
        max_size=25,
    )
)
def test_revoked_list__the_latest_50_revoked_and_not_unrevoked(tmp_path, steps):
    db = MessageDB(tmp_path / f"revoked-{next(_counter)}.sqlite3", 64 << 20)
    model: list[bytes] = []  # oldest revocation first
    for revoke, tokens in steps:
        if revoke:
            known = set(model)
            new = db.revoke(ACCOUNT, tokens)
            assert new == len(set(tokens) - known)
            for token in tokens:
                if token in model:
                    model.remove(token)
                model.append(token)
            model = model[-MAX_REVOKED_TOKENS:]
        else:
            removed = db.unrevoke(ACCOUNT, tokens)
            assert removed == len(set(tokens) & set(model))
            model = [t for t in model if t not in tokens]
        assert db.revoked_tokens(ACCOUNT) == list(reversed(model))
        assert all(db.is_revoked(ACCOUNT, t) == (t in model) for t in TOKENS)
    db.close()
