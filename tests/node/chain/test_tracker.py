"""The chain tracker on a real anvil: the registry follows the events, reorgs deeper than
the confirmations converge to the new chain, and bad providers or bad logs are survived
without corrupting anything."""

import asyncio
import logging

import pytest

from sesh.devnet.chain import start_anvil
from sesh.node.chain.rpc import NoProviderError
from sesh.rules.events import EVENTS_BY_NAME
from tests.node.conftest import sync, sync_now
from tests.node.proxy import FaultyProxy

CONFIRMATIONS = 2


def populate(driver, nodes=12):
    """Nodes 1..nodes registered and active, one open, one exiting, one exited, Pro keys."""
    driver.register_many(list(range(1, nodes + 1)), activate=True)
    driver.register(nodes + 1)
    driver.contribute(nodes + 1, driver.accounts[3], 5 * 10**9, 25_005 * 10**9)
    driver.request_exit(2)
    driver.exit(3, reason=0)
    driver.subscribe(b"\x42" * 32, 2_000_000_000)
    driver.mine(CONFIRMATIONS)


def clean_sync_state(make_tracker, url):
    tracker = make_tracker([url], confirmations=CONFIRMATIONS)
    sync_now(tracker)
    return tracker.store.dump()


def test_tracker__registrations_activations_and_exits_appear_in_the_registry(
    driver, make_tracker, anvil
):
    populate(driver)
    tracker = make_tracker([anvil.url], confirmations=CONFIRMATIONS)
    sync_now(tracker)
    registry = tracker.registry
    assert {n: registry.nodes[n].status for n in (1, 2, 3, 13)} == {
        1: "active",
        2: "exiting",
        3: "exited",
        13: "open",
    }
    assert registry.nodes[13].stake == 25_005 * 10**9
    serving = sorted(n for members in registry.swarms.values() for n in members)
    assert serving == [1, 2] + list(range(4, 13))
    assert registry.pro == {b"\x42" * 32: 2_000_000_000}
    # Exactly once: every event the contract emitted is applied, none twice.
    assert tracker.store.counters()["events_applied"] == driver.events_emitted()
    assert tracker.checkpoint.number == driver.w3.eth.block_number - CONFIRMATIONS


def test_tracker__applies_only_blocks_deeper_than_the_confirmations(driver, make_tracker, anvil):
    tracker = make_tracker([anvil.url], confirmations=3)
    driver.register_many([1], activate=True)
    sync_now(tracker)
    assert tracker.registry.nodes == {}, "the registration is not 3 blocks deep yet"
    driver.mine(3)
    sync_now(tracker)
    assert tracker.registry.nodes[1].status == "active"


def test_tracker__many_small_ranges_give_the_same_registry_as_one_large(
    driver, make_tracker, anvil
):
    populate(driver, nodes=30)
    for n in range(4, 9):
        driver.exit(n, reason=2)
    driver.mine(CONFIRMATIONS)
    small = make_tracker([anvil.url], confirmations=CONFIRMATIONS, max_block_range=1)
    large = make_tracker([anvil.url], confirmations=CONFIRMATIONS, max_block_range=10_000)
    sync_now(small)
    sync_now(large)
    assert small.store.dump() == large.store.dump()


def reorg_last_blocks(driver, depth: int) -> None:
    """Replace the last `depth` blocks by two blocks: one exits node 5, one moves node 6."""
    contract = driver.contract.functions
    txs = [
        contract.exit_node(5, 2).build_transaction({"from": driver.sender, "gas": 200_000}),
        contract.update_endpoint(6, "after-reorg:1").build_transaction(
            {"from": driver.sender, "gas": 200_000}
        ),
    ]
    fields = ("from", "to", "data", "gas")
    reorg = [
        [{k: tx[k] if k != "gas" else hex(tx[k]) for k in fields}, offset]
        for offset, tx in enumerate(txs)
    ]
    driver.w3.provider.make_request("anvil_reorg", [depth, reorg])


@pytest.mark.parametrize("history", ["kept", "pruned"])
def test_reorg__deeper_than_the_confirmations_converges_to_the_new_chain(
    driver, make_tracker, anvil, history
):
    populate(driver)
    tracker = make_tracker([anvil.url], confirmations=CONFIRMATIONS, max_block_range=2)
    sync_now(tracker)
    for n in (20, 21, 22):
        driver.register_many([n], activate=True)
    driver.mine(CONFIRMATIONS)
    sync_now(tracker)
    assert {20, 21, 22} <= set(tracker.registry.nodes)
    old_hash = tracker.checkpoint.hash
    if history == "pruned":
        # As if the fork were older than the history kept for rollbacks.
        tracker.store.prune(tracker.checkpoint.number + 1)

    # Replace the last 6 blocks (the three registrations and the confirmations).
    reorg_last_blocks(driver, 6)
    driver.register_many([30], activate=True)
    driver.mine(CONFIRMATIONS)

    sync_now(tracker)
    assert tracker.metrics.get("sesh_bridge_reorgs_total") == 1
    resyncs = tracker.metrics.get("sesh_bridge_resyncs_total")
    assert resyncs == (1 if history == "pruned" else 0)
    assert tracker.checkpoint.hash != old_hash
    assert not {20, 21, 22} & set(tracker.registry.nodes)
    assert tracker.registry.nodes[5].status == "exited"
    assert tracker.registry.nodes[6].endpoint == "after-reorg:1"
    assert tracker.registry.nodes[30].status == "active"
    assert tracker.store.dump() == clean_sync_state(make_tracker, anvil.url)


def test_rollback__blocks_removed_then_replaced_converge_to_the_new_chain(
    driver, make_tracker, anvil
):
    populate(driver)
    driver.register_many([40, 41], activate=True)
    driver.mine(CONFIRMATIONS + 1)
    tracker = make_tracker([anvil.url], confirmations=CONFIRMATIONS)
    sync_now(tracker)
    assert 41 in tracker.registry.nodes
    driver.w3.provider.make_request("anvil_rollback", [CONFIRMATIONS + 3])
    # The chain is now shorter than the checkpoint: nothing is applied, nothing breaks.
    sync_now(tracker)
    driver.register_many([50], activate=True)
    driver.exit(1, reason=1)
    driver.mine(CONFIRMATIONS + 4)
    sync_now(tracker)
    assert 41 not in tracker.registry.nodes
    assert tracker.registry.nodes[50].status == "active"
    assert tracker.metrics.get("sesh_bridge_reorgs_total") >= 1
    assert tracker.store.dump() == clean_sync_state(make_tracker, anvil.url)


def test_malformed_logs__are_skipped_with_a_reason_and_change_nothing(
    driver, make_tracker, anvil, caplog
):
    populate(driver)
    tracker = make_tracker([anvil.url], confirmations=CONFIRMATIONS)
    sync_now(tracker)
    before = tracker.store.dump()
    registered = EVENTS_BY_NAME["NodeRegistered"]
    activated = EVENTS_BY_NAME["NodeActivated"]
    node_topic = (99).to_bytes(32, "big")
    operator_topic = bytes(12) + bytes.fromhex(driver.sender[2:])
    driver.emit_raw([registered.topic0, node_topic, operator_topic], b"\x00" * 40)
    driver.emit_raw([activated.topic0], b"")  # the node id topic is missing
    driver.emit_raw([activated.topic0, (1 << 70).to_bytes(32, "big")], b"")  # not a uint64
    driver.activate(12345)  # well-formed, but no such node
    driver.mine(CONFIRMATIONS)
    with caplog.at_level(logging.WARNING):
        sync_now(tracker)
    assert tracker.metrics.get("sesh_bridge_logs_rejected_total") == 3
    assert tracker.store.counters()["logs_rejected"] == 3
    messages = caplog.text
    assert "skipped malformed log" in messages and "NodeRegistered" in messages
    assert "1 indexed fields but the log has 0 topics" in messages
    assert "does not fit in uint64" in messages
    assert "ignored NodeActivated" in messages and "no node 12345" in messages
    after = tracker.store.dump()
    assert after["state"] == before["state"]
    assert after["events_applied"] == before["events_applied"] + 1  # the well-formed one


def test_wrong_chain_id__provider_is_never_used_and_the_others_carry_on(
    driver, make_tracker, anvil, caplog
):
    populate(driver)
    with start_anvil(chain_id=1) as wrong:
        tracker = make_tracker([wrong.url, anvil.url], confirmations=CONFIRMATIONS)
        with caplog.at_level(logging.ERROR):
            sync_now(tracker)
        assert "is on chain 1, not 412346: never used" in caplog.text
        assert tracker.pool.providers[0].chain_ok is False
        assert tracker.store.dump() == clean_sync_state(make_tracker, anvil.url)


def test_wrong_chain_id__alone_the_node_keeps_running_and_the_registry_is_untouched(
    driver, make_tracker, caplog
):
    populate(driver)
    with start_anvil(chain_id=1) as wrong:
        tracker = make_tracker([wrong.url], confirmations=CONFIRMATIONS)
        before = tracker.store.dump()

        async def run_a_while():
            stop = asyncio.Event()
            async with tracker.pool:
                task = asyncio.create_task(tracker.run(stop))
                await asyncio.sleep(0.5)
                assert not task.done(), "the tracker keeps running"
                stop.set()
                await asyncio.wait_for(task, 10)

        with caplog.at_level(logging.ERROR):
            asyncio.run(run_a_while())
        assert "no RPC provider usable" in caplog.text
        assert tracker.store.dump() == before

        async def one_round():
            async with tracker.pool:
                await tracker.sync_once()

        with pytest.raises(NoProviderError, match="wrong chain|chain id 1"):
            asyncio.run(one_round())


@pytest.mark.parametrize("mode", ["drop", "stall", "error", "garbage", "garbage-logs", "lag"])
def test_failover__a_misbehaving_provider_is_left_and_the_sync_carries_on(
    driver, make_tracker, anvil, mode
):
    populate(driver, nodes=40)
    for n in range(50, 55):
        driver.register_many([n], activate=True)
    driver.mine(CONFIRMATIONS)

    async def scenario():
        # The bad provider first, so every call meets it; it turns bad after a few calls
        # (a lagging one at once: lag is judged on the heads asked for at each round).
        async with FaultyProxy(anvil.url, mode, after=1 if mode == "lag" else 3) as bad:
            tracker = make_tracker(
                [bad.url, anvil.url],
                confirmations=CONFIRMATIONS,
                max_block_range=3,
                timeout=1.0,
                max_lag_blocks=5,
            )
            await sync(tracker)
            return tracker, bad

    tracker, bad = asyncio.run(scenario())
    assert bad.misbehaved >= 1
    assert tracker.metrics.get("sesh_bridge_provider_failovers_total") >= 1
    assert tracker.pool.current == 1
    assert tracker.store.dump() == clean_sync_state(make_tracker, anvil.url)


def test_range_limit__a_provider_refusing_large_ranges_gets_smaller_ones_without_failover(
    driver, make_tracker, anvil
):
    populate(driver, nodes=20)

    async def scenario():
        async with FaultyProxy(anvil.url, "range-limit") as limited:
            tracker = make_tracker(
                [limited.url, anvil.url], confirmations=CONFIRMATIONS, max_block_range=64
            )
            await sync(tracker)
            return tracker, limited

    tracker, limited = asyncio.run(scenario())
    assert limited.refused_ranges >= 1, "the provider refused at least one range"
    assert tracker.metrics.get("sesh_bridge_provider_failovers_total") == 0
    assert tracker.pool.current == 0
    assert tracker.store.dump() == clean_sync_state(make_tracker, anvil.url)
