"""The soak's short run (tests/node/soak.py; `make soak` runs it for minutes): eight
`sesh node run` processes, three-hop stores up to 76,800 bytes and a mailbox over 2 MB,
two SIGKILLs with restarts and a node leaving mid-run — and no acknowledged message lost
on any live member of its swarm, every catch-up cursor at its peer's head."""

from __future__ import annotations

import json

import pytest

from tests.node.soak import soak

pytestmark = pytest.mark.slow


def test_soak__short_run_loses_no_acknowledged_message(tmp_path):
    figures = soak(tmp_path / "net", nodes=8, duration=20.0, results=tmp_path / "soak.json")
    print(json.dumps(figures.__dict__))
    assert figures.losses == 0 and figures.tracebacks_in_logs == 0
    assert figures.kills == 2 and figures.restarts == 2 and figures.swarm_changes == 1
    assert figures.largest_mailbox_bytes > 2_000_000
    assert figures.largest_message_bytes == 76_800
    assert figures.messages_acknowledged > 40 and figures.cursors_checked > 0
