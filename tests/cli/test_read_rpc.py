"""Read commands resolve their network without Ape (sesh.contracts.rpc): which choices
read over plain JSON-RPC, and how decoded values take the shape Ape gives them."""

from __future__ import annotations

import pytest

from sesh.contracts.rpc import ReadNetwork, Struct, _shape, dev_account_address, rpc_url

CONFIG = """
node:
  arbitrum:
    devnet:
      uri: http://127.0.0.1:8545
    sepolia:
      uri: wss://example.invalid
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "ape-config.yaml"
    path.write_text(CONFIG)
    return path


def test_rpc_url__a_url_in_the_choice__is_read_directly(config):
    choice = "arbitrum:devnet:http://10.0.0.2:8755"
    assert rpc_url(choice, config) == ReadNetwork(
        choice, "arbitrum", "devnet", "http://10.0.0.2:8755"
    )


@pytest.mark.parametrize("choice", ["arbitrum:devnet:node", "arbitrum:devnet"])
def test_rpc_url__the_node_provider__takes_the_uri_ape_config_gives(config, choice):
    assert rpc_url(choice, config).url == "http://127.0.0.1:8545"


@pytest.mark.parametrize(
    "choice",
    [
        "arbitrum:sepolia:node",  # a websocket URI: Ape's provider handles it
        "arbitrum:mainnet:node",  # no URI configured: Ape says what to do
        "arbitrum:local:foundry",  # another provider plugin
        "arbitrum",  # only an ecosystem
        "",
    ],
)
def test_rpc_url__what_only_ape_can_resolve__goes_through_ape(config, choice):
    assert rpc_url(choice, config) is None


def test_rpc_url__through_ape_asked__always_goes_through_ape(config, monkeypatch):
    monkeypatch.setenv("SESH_READS_THROUGH_APE", "1")
    assert rpc_url("arbitrum:devnet:http://10.0.0.2:8755", config) is None


def test_rpc_url__no_or_broken_config__goes_through_ape(tmp_path):
    assert rpc_url("arbitrum:devnet:node", tmp_path / "missing.yaml") is None
    broken = tmp_path / "broken.yaml"
    broken.write_text("node: [unclosed")
    assert rpc_url("arbitrum:devnet:node", broken) is None


def test_shape__structs_by_name_addresses_checksummed_arrays_element_by_element():
    param = {
        "type": "tuple",
        "components": [
            {"name": "operator", "type": "address"},
            {"name": "stakes", "type": "uint256[]"},
        ],
    }
    value = _shape(param, ("0x70997970c51812dc3a010c7d01b50e0d17dc79c8", (1, 2)))
    assert isinstance(value, Struct)
    assert value.operator == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" == value[0]
    assert value.stakes == [1, 2]
    with pytest.raises(AttributeError):
        _ = value.missing


def test_test_account_address__is_ape_s_test_account(tmp_path):
    # anvil's and Ape's accounts 0 and 1 from the test mnemonic (ape-config.yaml's).
    assert dev_account_address(0, tmp_path / "none.yaml") == (
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    )
    assert dev_account_address(1, tmp_path / "none.yaml") == (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    )
