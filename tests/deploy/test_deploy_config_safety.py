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


# ----- the keeper feed: a testnet's SESH/USD price (issue #20, 7)


@pytest.mark.parametrize("chain_id", [1, 42161, 42170])
def test_keeper_feed_on_a_mainnet_chain_id_is_refused(tmp_path, chain_id):
    feeds = f'sesh_usd = "keeper"\nsequencer = "{REAL_SEQUENCER}"'
    with pytest.raises(ConfigError, match=r'feeds.sesh_usd = "keeper" is for testnets'):
        _config(tmp_path, f"ids = [{chain_id}]", feeds)


def test_keeper_feed_on_arbitrum_sepolia_is_accepted_with_its_price_and_keeper(tmp_path):
    keeper = "0x" + "33" * 20
    feeds = (
        f'sesh_usd = "keeper"\nkeeper_sesh_usd = "0.31"\nkeeper = "{keeper}"\n'
        f'sequencer = "{REAL_SEQUENCER}"'
    )
    config = _config(tmp_path, "ids = [421614]", feeds)
    assert config.keeper_feed and config.sesh_usd_feed is None and not config.mock_feeds
    assert (config.keeper_sesh_usd, config.keeper) == (31_000_000, keeper)


def test_keeper_feed_defaults_to_a_quarter_dollar_pushed_by_the_deployer(tmp_path):
    feeds = f'sesh_usd = "keeper"\nsequencer = "{REAL_SEQUENCER}"'
    config = _config(tmp_path, "ids = [421614]", feeds)
    assert (config.keeper_sesh_usd, config.keeper) == (25_000_000, None)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('keeper_sesh_usd = "0"', "feeds.keeper_sesh_usd must be a price above 0 USD"),
        ('keeper = "nobody"', "feeds.keeper is not an address"),
    ],
)
def test_keeper_feed_with_a_bad_price_or_keeper_is_refused(tmp_path, setting, message):
    feeds = f'sesh_usd = "keeper"\n{setting}\nsequencer = "{REAL_SEQUENCER}"'
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, "ids = [421614]", feeds)


def test_a_feed_that_is_neither_an_address_nor_keeper_is_refused(tmp_path):
    feeds = f'sesh_usd = "chainlink"\nsequencer = "{REAL_SEQUENCER}"'
    with pytest.raises(ConfigError, match="feeds.sesh_usd is not an address"):
        _config(tmp_path, "ids = [421614]", feeds)
