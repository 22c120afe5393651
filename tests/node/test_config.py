"""node.toml: a valid file gives every setting; every mistake names its key."""

import json

import pytest

from sesh.node.config import ConfigError, load_config

STAKING = "0x" + "12" * 20


def write(tmp_path, text):
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


VALID = f"""
[chain]
chain_id = 412346
providers = ["http://127.0.0.1:1", "https://rpc.example/key"]
confirmations = 3
[contracts]
staking = "{STAKING}"
start_block = 10
[node]
data_dir = "data"
listen = "127.0.0.1:22021"
ed25519_pubkey = "{"ab" * 32}"
[log]
format = "json"
"""


def test_config__valid_file_gives_every_setting(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.chain.chain_id == 412346
    assert config.chain.providers == ("http://127.0.0.1:1", "https://rpc.example/key")
    assert config.chain.confirmations == 3
    assert config.contracts.addresses == [STAKING]
    assert config.contracts.start_block == 10
    assert config.node.data_dir == tmp_path / "data"
    assert (config.node.listen_host, config.node.listen_port) == ("127.0.0.1", 22021)
    assert config.node.ed25519_pubkey == b"\xab" * 32
    assert config.log_format == "json"


def test_config__contracts_and_chain_come_from_a_manifest(tmp_path):
    manifest = {
        "chain_id": 412346,
        "contracts": {
            "ServiceNodeStaking": {
                "address": STAKING,
                "contract_type": "ServiceNodeStaking",
                "block": 12,
            },
            "SessionPro": {"address": "0x" + "34" * 20, "contract_type": "SessionPro", "block": 9},
        },
    }
    (tmp_path / "412346.json").write_text(json.dumps(manifest))
    config = load_config(
        write(
            tmp_path,
            """
[chain]
providers = ["http://127.0.0.1:1"]
[contracts]
manifest = "412346.json"
[node]
""",
        )
    )
    assert config.chain.chain_id == 412346
    assert config.contracts.pro == "0x" + "34" * 20
    assert config.contracts.start_block == 9


@pytest.mark.parametrize(
    "change,message",
    [
        (("confirmations = 3", "confirmations = -1"), "chain.confirmations: -1 is below 0"),
        (
            ('providers = ["http://127.0.0.1:1", "https://rpc.example/key"]', "providers = []"),
            "chain.providers",
        ),
        (
            (
                'providers = ["http://127.0.0.1:1", "https://rpc.example/key"]',
                'providers = ["ws://x"]',
            ),
            "not an http",
        ),
        ((f'staking = "{STAKING}"', 'staking = "0x12"'), "contracts.staking"),
        (('listen = "127.0.0.1:22021"', 'listen = "nowhere"'), "node.listen"),
        (('listen = "127.0.0.1:22021"', 'listen = "127.0.0.1:0"'), "node.listen: port 0 would"),
        (('listen = "127.0.0.1:22021"', 'listen = "127.0.0.1:65536"'), "port 65536 out of"),
        (('listen = "127.0.0.1:22021"', 'listen = "127.0.0.1:-1"'), "port -1 out of range"),
        (
            ("confirmations = 3", "confirmations = 3\nconfirmation = 4"),
            "unknown key chain.confirmation",
        ),
        (('format = "json"', 'format = "xml"'), "log.format"),
        (("chain_id = 412346", 'chain_id = "x"'), "chain.chain_id"),
    ],
)
def test_config__mistakes_name_their_key(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, VALID.replace(*change)))


def test_config__unreadable_or_invalid_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[chain\n"))


@pytest.mark.parametrize("port", [1, 22021, 65535])
def test_config__listen_ports_from_1_to_65535_are_accepted(tmp_path, port):
    text = VALID.replace('listen = "127.0.0.1:22021"', f'listen = "127.0.0.1:{port}"')
    assert load_config(write(tmp_path, text)).node.listen_port == port


def test_config__a_hop_waits_longer_for_the_next_hop_than_the_last_hop_waits_for_a_server(
    tmp_path,
):
    # The waits nest along a path: a relay giving up before the last hop's server wait
    # turns a slow server's answer into the relay's own 504.
    from sesh.node.onion.relay import ServerRelaySettings
    from sesh.node.onion.router import OnionSettings

    onion = load_config(write(tmp_path, VALID)).onion
    assert (onion.relay_timeout, onion.server_timeout) == (30.0, 25.0)
    assert OnionSettings().relay_timeout > ServerRelaySettings().timeout
    assert onion.relay_timeout > onion.server_timeout
