"""The web page's count of names needs the name service's address: node.toml takes it
from the manifest or as `contracts.names`; the tracker still follows only staking and Pro."""

import json

import pytest

from sesh.node.config import ConfigError, load_config

STAKING = "0x" + "12" * 20
NAMES = "0x" + "56" * 20
NODE = """
[node]
data_dir = "data"
listen = "127.0.0.1:22021"
"""


def write(tmp_path, text):
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_names__come_from_the_manifest_and_are_not_tracked(tmp_path):
    manifest = {
        "chain_id": 412346,
        "contracts": {
            "ServiceNodeStaking": {"address": STAKING, "contract_type": "S", "block": 3},
            "SessionNameService": {"address": NAMES, "contract_type": "N", "block": 2},
        },
    }
    (tmp_path / "412346.json").write_text(json.dumps(manifest))
    config = load_config(
        write(tmp_path, '[chain]\nproviders = ["http://127.0.0.1:1"]\n'
              '[contracts]\nmanifest = "412346.json"\n' + NODE)
    )  # fmt: skip
    assert config.contracts.names.lower() == NAMES
    assert [a.lower() for a in config.contracts.addresses] == [STAKING]
    assert config.contracts.start_block == 3


def test_names__given_as_an_address(tmp_path):
    config = load_config(
        write(tmp_path, f'[chain]\nchain_id = 412346\nproviders = ["http://127.0.0.1:1"]\n'
              f'[contracts]\nstaking = "{STAKING}"\nnames = "{NAMES}"\n' + NODE)
    )  # fmt: skip
    assert config.contracts.names.lower() == NAMES


@pytest.mark.parametrize(
    ("contracts", "message"),
    [
        (f'manifest = "x.json"\nnames = "{NAMES}"', "a manifest or addresses, not both"),
        (f'staking = "{STAKING}"\nnames = "0x1234"', "contracts.names"),
    ],
)
def test_names__a_mistake_names_its_key(tmp_path, contracts, message):
    text = f'[chain]\nchain_id = 412346\nproviders = ["http://127.0.0.1:1"]\n[contracts]\n{contracts}\n'
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text + NODE))
