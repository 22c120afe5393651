"""The optional [migration.*] tables of a deployment config: off unless present, read and
checked before anything is sent, each refusal naming its key (docs/deploying.md)."""

import pytest

from sesh.deploy.config import ConfigError, load_config

OLD = "0x" + "33" * 20
ROOT_HEX = "0x" + "ab" * 32
LOCAL = "[chain]\nids = [31337]\nlocal = true\n[feeds]\nmock = true\n"
PUBLIC = '[chain]\nids = [1]\n[feeds]\nsesh_usd = "0x' + "11" * 20 + '"\n'


def _config(tmp_path, head: str, migration: str):
    path = tmp_path / "deploy.toml"
    path.write_text(head + migration)
    return load_config(path)


def test_no_migration_tables__deploys_none_of_it(tmp_path):
    assert _config(tmp_path, LOCAL, "").migration is None


def test_all_three_tables__are_read(tmp_path):
    config = _config(
        tmp_path,
        PUBLIC,
        f'[migration.converter]\nold_token = "{OLD}"\nrate_numerator = 1\n'
        'rate_denominator = 1000000000\nfunding = "1000.5"\n'
        f'[migration.claims]\nmerkle_root = "{ROOT_HEX}"\ntotal = "12.5"\n'
        "deadline = 1893456000\n"
        "[migration.vesting]\nfactory = true\n",
    ).migration
    assert config.converter.old_token == OLD
    assert (config.converter.rate_numerator, config.converter.rate_denominator) == (1, 10**9)
    assert config.converter.funding == 1_000_500_000_000
    assert config.claims.merkle_root == bytes.fromhex("ab" * 32)
    assert config.claims.total == 12_500_000_000 and config.claims.sweep_to == "pool"
    assert config.vesting_factory and config.staking_views is None


@pytest.mark.parametrize(
    ("migration", "key"),
    [
        ('[migration.converter]\nold_token = "mock"\nrate_numerator = 1\nrate_denominator = 1\n',
         "migration.converter.old_token"),
        ("[migration.converter]\nrate_numerator = 1\nrate_denominator = 1\n",
         "migration.converter.old_token"),
        (f'[migration.converter]\nold_token = "{OLD}"\nrate_numerator = 0\nrate_denominator = 1\n',
         "migration.converter.rate_numerator"),
        (f'[migration.converter]\nold_token = "{OLD}"\nrate_numerator = 1\n'
         "rate_denominator = 1000000000000000000000001\n", "migration.converter.rate_denominator"),
        ('[migration.claims]\nmerkle_root = "0x1234"\ntotal = "1"\ndeadline = 1893456000\n',
         "migration.claims.merkle_root"),
        (f'[migration.claims]\nmerkle_root = "{ROOT_HEX}"\ntotal = "0"\ndeadline = 1893456000\n',
         "migration.claims.total"),
        (f'[migration.claims]\nmerkle_root = "{ROOT_HEX}"\ntotal = "1"\n',
         "migration.claims.deadline"),
        (f'[migration.claims]\nmerkle_root = "{ROOT_HEX}"\ntotal = "1"\ndeadline = 1893456000\n'
         'sweep_to = "treasury"\n', "migration.claims.sweep_to"),
        ('[migration.vesting]\nfactory = "yes"\n', "migration.vesting.factory"),
        ("[migration]\nconverter = 1\n", "migration.converter"),
    ],
)  # fmt: skip
def test_a_bad_migration_setting__is_refused_naming_its_key(tmp_path, migration, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _config(tmp_path, PUBLIC, migration)


def test_a_mock_old_token__is_allowed_on_a_local_chain(tmp_path):
    config = _config(
        tmp_path,
        LOCAL,
        '[migration.converter]\nold_token = "mock"\nmock_decimals = 18\n'
        "rate_numerator = 1\nrate_denominator = 1000000000\n",
    ).migration
    assert config.converter.old_token == "mock" and config.converter.mock_decimals == 18
    assert config.converter.funding == 0
