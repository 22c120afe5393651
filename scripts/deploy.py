"""Deploy the Session Network contracts with Ape.

    ape run deploy token --network arbitrum:local:foundry
    ape run deploy token --network arbitrum:sepolia:node --account deployer

Addresses are recorded in deployments/<chain_id>.json as each contract lands; a re-run
reuses what is already deployed.
"""

from pathlib import Path

import click
from ape.cli import network_option

from sesh.accounts import resolve_account
from sesh.cli_support import ChainCommand
from sesh.deploy import (
    ZERO_ADDRESS,
    Deployer,
    DeployError,
    deploy_bridged_token,
    deploy_token,
    is_local_network,
)
from sesh.deployments import Manifest, ManifestError

account_option = click.option(
    "--account",
    "account_alias",
    metavar="ALIAS",
    help="Ape account alias that signs (default on local chains: the first test account).",
)
deployments_option = click.option(
    "--deployments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("deployments"),
    show_default=True,
    help="Where deployments/<chain_id>.json is kept.",
)


def _start(network, account_alias: str | None, deployments_dir: Path) -> Deployer:
    from ape import chain

    account = resolve_account(account_alias, is_local_network(network.name))
    try:
        manifest = Manifest.load(chain.chain_id, deployments_dir)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    manifest.network = f"{network.ecosystem.name}:{network.name}"
    click.echo(f"chain {chain.chain_id} ({manifest.network}), deployer {account.address}")
    return Deployer(account=account, manifest=manifest, echo=click.echo)


@click.group()
def cli():
    """Deploy the Session Network contracts and record them in deployments/<chain_id>.json."""


@cli.command(cls=ChainCommand)
@network_option()
@account_option
@deployments_option
@click.option(
    "--genesis-receiver", metavar="ADDRESS", help="Receives all 240M SESH (default: the deployer)."
)
@click.option(
    "--l1-gateway",
    metavar="ADDRESS",
    default=ZERO_ADDRESS,
    help="Arbitrum L1 custom gateway (L1 deployments only).",
)
@click.option(
    "--l1-router",
    metavar="ADDRESS",
    default=ZERO_ADDRESS,
    help="Arbitrum L1 gateway router (L1 deployments only).",
)
def token(network, account_alias, deployments_dir, genesis_receiver, l1_gateway, l1_router):
    """Deploy SESH (SessionToken), minting the fixed supply to the genesis receiver.

    Example: ape run deploy token --network arbitrum:local:foundry
    """
    deployer = _start(network, account_alias, deployments_dir)
    try:
        instance = deploy_token(deployer, genesis_receiver, l1_gateway, l1_router)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"SessionToken: {instance.address}  ({deployer.manifest.path})")


@cli.command("l2-token", cls=ChainCommand)
@network_option()
@account_option
@deployments_option
@click.option(
    "--l2-gateway", metavar="ADDRESS", required=True, help="Arbitrum's L2 custom gateway."
)
@click.option("--l1-token", metavar="ADDRESS", required=True, help="The SessionToken on L1.")
def l2_token(network, account_alias, deployments_dir, l2_gateway, l1_token):
    """Deploy SESH as a bridged Arbitrum token (SessionTokenL2).

    Example: ape run deploy l2-token --network arbitrum:sepolia:node --account deployer
    --l2-gateway 0x... --l1-token 0x...
    """
    deployer = _start(network, account_alias, deployments_dir)
    try:
        instance = deploy_bridged_token(deployer, l2_gateway, l1_token)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"SessionTokenL2: {instance.address}  ({deployer.manifest.path})")
