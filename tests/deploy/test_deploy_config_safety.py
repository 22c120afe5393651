"""Deployment configurations that would turn oracle safety off are refused before anything
is sent, with the setting named (issue #16, 5)."""

import pytest

from sesh.deploy.config import ConfigError, load_config

REAL_FEED = "0x" + "11" * 20
REAL_SEQUENCER = "0x" + "22" * 20


def _config(tmp_path, chain: str, feeds: str, pro: str = "") -> object:
    path = tmp_path / "deploy.toml"
    path.write_text(f"[chain]\n{chain}\n[feeds]\n{feeds}\n[pro]\n{pro}\n")
    return load_config(path)


@pytest.mark.parametrize("chain_id", [42161, 42170, 421614])
@pytest.mark.parametrize("sequencer", ['sequencer = "none"', "", 'sequencer = "mock"'])
def test_deployment_on_arbitrum_without_a_sequencer_feed_is_refused(tmp_path, chain_id, sequencer):
    feeds = f'sesh_usd = "{REAL_FEED}"\n{sequencer}'
    with pytest.raises(ConfigError, match="feeds.sequencer must be the address of the L2"):
        _config(tmp_path, f"ids = [{chain_id}]", feeds)


def test_deployment_on_arbitrum_with_a_sequencer_feed_is_accepted(tmp_path):
    feeds = f'sesh_usd = "{REAL_FEED}"\nsequencer = "{REAL_SEQUENCER}"'
    config = _config(tmp_path, "ids = [42161]", feeds)
    assert config.sequencer == REAL_SEQUENCER and not config.mock_feeds


def test_deployment_off_arbitrum_may_skip_the_sequencer(tmp_path):
    config = _config(tmp_path, "ids = [1]", f'sesh_usd = "{REAL_FEED}"')
    assert config.sequencer == "none"


@pytest.mark.parametrize(
    ("feeds", "pro", "key"),
    [
        ("mock = true", "", "feeds.mock"),
        (f'sesh_usd = "{REAL_FEED}"\nsequencer = "mock"', "", "feeds.sequencer"),
        (f'sesh_usd = "{REAL_FEED}"', "mock_stablecoin = true", "pro.mock_stablecoin"),
    ],
)
def test_mocks_on_a_chain_not_declared_local_are_refused(tmp_path, feeds, pro, key):
    with pytest.raises(ConfigError, match=f"{key} deploys a mock"):
        _config(tmp_path, "ids = [777]", feeds, pro)


def test_mocks_on_a_chain_declared_local_are_accepted(tmp_path):
    config = _config(
        tmp_path, "ids = [31337]\nlocal = true", 'mock = true\nsequencer = "mock"',
        "mock_stablecoin = true",
    )  # fmt: skip
    assert config.mock_feeds and config.mock_stablecoin and config.sequencer == "mock"


@pytest.mark.parametrize("chain_id", [1, 11155111, 42161, 42170, 421614])
def test_a_public_chain_declared_local_is_refused(tmp_path, chain_id):
    with pytest.raises(ConfigError, match="chain.local cannot be true with public chain ids"):
        _config(tmp_path, f"ids = [31337, {chain_id}]\nlocal = true", "mock = true")
