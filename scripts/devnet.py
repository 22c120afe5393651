"""The local devnet: anvil (Prague, Arbitrum-like chain id) with the suite deployed.

    make devnet                       # or: ape run devnet
    make devnet ARGS="--exit"         # deploy, print, stop

Deploys the whole suite with the same code as `ape run deploy all` (sesh.deploy_suite,
configured by deploy/local.toml), prints every address and keeps the chain running until
Ctrl-C. Later parts (service nodes, bridges) start after `deploy_devnet`.
"""

import time
from pathlib import Path

import click

from sesh.devchain import DEVNET_CHAIN_ID, DevchainError, start_anvil

# Test accounts 1-9 get this much SESH from the deployer, to stake and pay with.
DEVNET_FUNDED_ACCOUNTS = 9
DEVNET_ACCOUNT_SESH = 100_000


@click.command()
@click.option("--port", type=int, default=8545, show_default=True, help="anvil's JSON-RPC port.")
@click.option(
    "--exit",
    "exit_after",
    is_flag=True,
    help="Stop once everything is deployed instead of running until Ctrl-C.",
)
@click.option(
    "--deployments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("deployments"),
    show_default=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("deploy/local.toml"),
    show_default=True,
    help="Deployment configuration (feeds, prices, plans, roles).",
)
def cli(port, exit_after, deployments_dir, config_path):
    """Start a local Arbitrum-like chain and deploy the Session contracts on it."""
    from rich.console import Console

    console = Console()
    log_path = Path(".cache/devnet-anvil.log")
    log_path.parent.mkdir(exist_ok=True)
    console.print(
        f"[bold]Starting anvil[/] (hardfork prague, chain id {DEVNET_CHAIN_ID}, port {port})"
    )
    try:
        anvil = start_anvil(port=port, chain_id=DEVNET_CHAIN_ID, log_path=log_path)
    except DevchainError as exc:
        raise click.ClickException(
            f"{exc} (is port {port} taken? try: make devnet ARGS='--port 8546')"
        ) from None

    try:
        console.print(
            f"[bold]Deploying[/] the suite ({config_path}) with sesh.deploy_suite, "
            "the code of `ape run deploy all`"
        )
        deploy_devnet(anvil.url, deployments_dir, config_path, console)
        if exit_after:
            console.print("Done (--exit): stopping the chain.")
            return
        console.print("[green]Devnet running.[/] Press Ctrl-C to stop.")
        while anvil.process.poll() is None:
            time.sleep(0.5)
        raise click.ClickException(f"anvil stopped unexpectedly; see {log_path}")
    except KeyboardInterrupt:
        console.print("\nStopping the devnet.")
    finally:
        anvil.stop()


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
        raise click.ClickException(str(exc)) from None
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
            raise click.ClickException(str(exc)) from None
        failed = [c for c in suite.check_wires() if c.required and not c.ok]
        if failed:
            raise click.ClickException(
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
