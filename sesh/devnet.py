"""The devnet's deployment: the whole suite on a fresh local chain, test accounts funded.

`scripts/devnet.py` (`make devnet`) runs it on the anvil it starts; tests run it on theirs.
It deploys with `sesh.deploy_suite`, the code of `ape run deploy all`.
"""

from __future__ import annotations

from pathlib import Path

from sesh.devchain import DEVNET_CHAIN_ID

# Test accounts 1-9 get this much SESH from the deployer, to stake and pay with.
DEVNET_FUNDED_ACCOUNTS = 9
DEVNET_ACCOUNT_SESH = 100_000


class DevnetError(Exception):
    """The devnet could not be deployed; the message says why."""


def deploy_devnet(url: str, deployments_dir: Path, config_path: Path, console) -> None:
    """Deploy, wire and check the suite on the fresh chain at `url`, then print it."""
    from ape import accounts, networks

    from sesh.deploy import Deployer, DeployError
    from sesh.deploy_config import ConfigError, load_config
    from sesh.deploy_suite import SuiteDeployment
    from sesh.deployments import Manifest

    try:
        config = load_config(config_path)
        config.check_chain(DEVNET_CHAIN_ID)
    except ConfigError as exc:
        raise DevnetError(str(exc)) from None
    with networks.parse_network_choice("arbitrum:local:foundry", provider_settings={"host": url}):
        # The chain is new: whatever an earlier devnet recorded is gone.
        manifest = Manifest.load(DEVNET_CHAIN_ID, deployments_dir)
        manifest.forget()
        manifest.network = "arbitrum:devnet"
        deployer_account = accounts.test_accounts[0]
        deployer = Deployer(account=deployer_account, manifest=manifest, echo=console.print)
        suite = SuiteDeployment(deployer, config)
        try:
            suite.run()
        except DeployError as exc:
            raise DevnetError(str(exc)) from None
        failed = [c for c in suite.check_wires() if c.required and not c.ok]
        if failed:
            raise DevnetError(
                "wiring check failed: " + "; ".join(f"{c.what}: {c.detail}" for c in failed)
            )
        fund_test_accounts(suite, deployer_account, console)
        console.print(devnet_table(url, manifest, deployer_account, suite))
    console.print(
        "Test accounts use the mnemonic "
        "'test test test test test test test test test test test junk'; "
        "the sesh CLI reaches this chain with --network arbitrum:devnet:node."
    )


def fund_test_accounts(suite, deployer_account, console) -> None:
    """Give test accounts 1-9 SESH to stake, delegate and pay with (devnet only)."""
    from ape import accounts

    from sesh.deploy_suite import TOKEN
    from sesh.units import UNIT, format_sesh

    token = suite.instances[TOKEN]
    for account in list(accounts.test_accounts)[1 : DEVNET_FUNDED_ACCOUNTS + 1]:
        token.transfer(account, DEVNET_ACCOUNT_SESH * UNIT, sender=deployer_account)
    console.print(
        f"Test accounts 1-{DEVNET_FUNDED_ACCOUNTS} hold "
        f"{format_sesh(DEVNET_ACCOUNT_SESH * UNIT)} each."
    )


def devnet_table(url: str, manifest, deployer_account, suite):
    """The table `make devnet` prints: the RPC, then every contract of the manifest."""
    from rich.table import Table

    from sesh.deploy_suite import TOKEN
    from sesh.units import format_sesh

    table = Table(title="Session devnet", show_lines=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("RPC", url)
    table.add_row("chain id", str(manifest.chain_id))
    table.add_row("ape network", "arbitrum:devnet:node")
    for name, entry in manifest.contracts.items():
        table.add_row(name, entry.address)
    held = suite.instances[TOKEN].balanceOf(deployer_account)
    table.add_row("deployer", f"{deployer_account.address} ({format_sesh(held)})")
    table.add_row("manifest", str(manifest.path))
    return table
