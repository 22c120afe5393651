"""`sesh feeds show|push`: the testnet SESH/USD feed a keeper keeps fresh (issue #20, 7).
The devchain's suite has a mock feed; here a KeeperAggregator is deployed next to it (by
the deployer, its keeper) and recorded as `SeshUsdFeed` in a copy of the manifest."""

import json

import pytest
from eth_abi import encode
from eth_utils import to_checksum_address

from sesh.devnet.chain import compile_vyper
from tests.cli.conftest import DEPLOYER, OPERATOR, ok, one_line_error

PRICE = 25_000_000  # 0.25 USD, 8 decimals


@pytest.fixture
def keeper_manifest(chain_state, tmp_path):
    """A manifest whose SeshUsdFeed is a keeper feed kept by DEPLOYER (test account 0)."""
    abi, bytecode = compile_vyper("mocks/KeeperAggregator.vy")
    args = encode(["uint8", "int256", "string", "address"], [8, PRICE, "SESH / USD", DEPLOYER])
    tx = chain_state.rpc(
        "eth_sendTransaction",
        [{"from": DEPLOYER, "data": bytecode + args.hex(), "gas": hex(3_000_000)}],
    )
    receipt = chain_state.receipt(tx, "the KeeperAggregator's deployment")
    address = to_checksum_address(receipt["contractAddress"])
    document = json.loads(chain_state.manifest.path.read_text())
    document["contracts"]["SeshUsdFeed"] = {
        "address": address, "contract_type": "KeeperAggregator", "tx_hash": tx, "block": 1,
        "args": [8, PRICE, "SESH / USD", DEPLOYER],
    }  # fmt: skip
    path = tmp_path / "keeper-manifest.json"
    path.write_text(json.dumps(document))
    return str(path), address


def _answer(devchain, feed: str) -> tuple[int, int]:
    round_id, answer, _, updated_at, _ = devchain.call(
        feed, "latestRoundData()", [], [], ["uint80", "int256", "uint256", "uint256", "uint80"]
    )
    return answer, round_id


def test_feeds_push__by_the_keeper__pushes_a_fresh_round(sesh, keeper_manifest, devchain):
    manifest, feed = keeper_manifest
    devchain.advance(3600)
    ok(sesh("feeds", "push", "--price", "0.31", "--manifest", manifest))
    assert _answer(devchain, feed) == (31_000_000, 2)
    shown = json.loads(ok(sesh("feeds", "show", "--json", "--manifest", manifest)))
    assert (shown["usd"], shown["round"], shown["keeper"]) == ("0.31", 2, DEPLOYER)
    head = int(devchain.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    assert shown["updated_at"] == head
    # Without --price: the current price again, timestamped now (a refresh); in a loop.
    devchain.advance(3600)
    out = ok(sesh("feeds", "push", "--every", "1", "--rounds", "2", "--manifest", manifest))
    assert out.count("push SESH/USD 0.31 USD: done") == 2 and "next push in 1 s" in out
    assert _answer(devchain, feed) == (31_000_000, 4)


def test_feeds_push__dry_run__simulates_and_sends_nothing(sesh, keeper_manifest, devchain):
    manifest, feed = keeper_manifest
    block = devchain.rpc("eth_blockNumber")
    out = ok(sesh("feeds", "push", "--price", "0.5", "--dry-run", "--manifest", manifest))
    assert "push(answer_=50000000)" in " ".join(out.split()) and "nothing sent" in out
    assert devchain.rpc("eth_blockNumber") == block and _answer(devchain, feed) == (PRICE, 1)


def test_feeds_push__by_another_account__refused_before_anything_is_sent(
    sesh, keeper_manifest, devchain
):
    manifest, feed = keeper_manifest
    block = devchain.rpc("eth_blockNumber")
    error = one_line_error(
        sesh("feeds", "push", "--price", "9", "--account", "TEST::1", "--manifest", manifest)
    )
    assert error == f"Error: feed: {OPERATOR} is not the feed's keeper ({DEPLOYER}); nothing sent"
    assert devchain.rpc("eth_blockNumber") == block and _answer(devchain, feed) == (PRICE, 1)


@pytest.mark.parametrize("price", ["0", "-1", "abc", "0.000000001"])
def test_feeds_push__a_price_that_is_not_one__is_a_usage_error(sesh, keeper_manifest, price):
    manifest, _feed = keeper_manifest
    error = one_line_error(sesh("feeds", "push", "--price", price, "--manifest", manifest))
    assert "--price" in error


def test_feeds_push__on_a_deployment_with_a_mock_or_chainlink_feed__is_refused(sesh, devchain):
    error = one_line_error(sesh("feeds", "push", "--price", "0.3"))
    assert "is a MockAggregator at" in error and "not a keeper feed: nothing to push" in error
