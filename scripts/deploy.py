"""Deploy the Session Network contracts with Ape.

    ape run deploy all --network arbitrum:local:foundry
    ape run deploy all --network arbitrum:sepolia:node --account deployer \
        --config deploy/sepolia.toml
    ape run deploy token --network arbitrum:local:foundry

Addresses are recorded in deployments/<chain_id>.json as each contract lands; a re-run
reuses what is already deployed.
"""

from pathlib import Path

import click
from ape.cli import network_option

from sesh.cli.accounts import resolve_account, unlock_if_passphrase
from sesh.cli.support import ChainCommand
from sesh.deploy.manifest import Manifest, ManifestError
from sesh.deploy.steps import (
    ZERO_ADDRESS,
    Deployer,
    DeployError,
    deploy_bridged_token,
    deploy_token,
    is_local_network,
    set_aside_if_from_an_earlier_chain,
)

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
    # APE_ACCOUNTS_<alias>_PASSPHRASE signs without prompting (unattended deployments);
    # without it, Ape asks at each transaction.
    unlock_if_passphrase(account)
    try:
        manifest = Manifest.load(chain.chain_id, deployments_dir)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    manifest.network = f"{network.ecosystem.name}:{network.name}"
    click.echo(f"chain {chain.chain_id} ({manifest.network}), deployer {account.address}")
    if is_local_network(network.name):
        set_aside_if_from_an_earlier_chain(manifest, click.echo)
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


@cli.command("register-l2", cls=ChainCommand)
@network_option()
@account_option
@deployments_option
@click.option("--l2-token", metavar="ADDRESS", required=True, help="The SessionTokenL2 on L2.")
@click.option(
    "--l2-rpc",
    metavar="URL",
    required=True,
    help="An RPC URL of the L2 chain, to check the L2 token's l1Address() there first.",
)
@click.option("--max-submission-cost-gateway", type=click.IntRange(0), required=True)
@click.option("--max-submission-cost-router", type=click.IntRange(0), required=True)
@click.option("--max-gas-gateway", type=click.IntRange(0), required=True)
@click.option("--max-gas-router", type=click.IntRange(0), required=True)
@click.option("--gas-price-bid", type=click.IntRange(0), required=True, help="In wei.")
def register_l2(
    network,
    account_alias,
    deployments_dir,
    l2_token,
    l2_rpc,
    max_submission_cost_gateway,
    max_submission_cost_router,
    max_gas_gateway,
    max_gas_router,
    gas_price_bid,
):
    """Register the bridged SESH on L2 with Arbitrum's L1 gateway and router (from L1,
    by the token's owner), after checking on L2 that the L2 token's l1Address() is this
    token: the gateway makes the pairing permanent.

    The ticket figures are those the Arbitrum SDK's registerCustomToken estimates.

    Example: ape run deploy register-l2 --network ethereum:sepolia:node --account deployer
    --l2-token 0x... --l2-rpc https://<arbitrum-sepolia-rpc> --max-submission-cost-gateway ...
    """
    from sesh.contracts.rpc import web3_for
    from sesh.deploy.steps import L2Tickets, register_token_on_l2

    deployer = _start(network, account_alias, deployments_dir)
    entry = deployer.manifest.contracts.get("SessionToken")
    if entry is None:
        raise click.ClickException(
            f"no SessionToken in {deployer.manifest.path}; deploy it with `ape run deploy token "
            "--l1-gateway ... --l1-router ...` first"
        )
    from ape import project

    tickets = L2Tickets(
        max_submission_cost_gateway,
        max_submission_cost_router,
        max_gas_gateway,
        max_gas_router,
        gas_price_bid,
    )
    try:
        register_token_on_l2(
            deployer,
            project.SessionToken.at(entry.address),
            l2_token,
            web3_for(l2_rpc),
            tickets,
        )
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"SessionToken {entry.address} registered with its L2 twin {l2_token}")


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


@cli.command("all", cls=ChainCommand)
@network_option()
@account_option
@deployments_option
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Deployment config (default: deploy/local.toml on local chains, else "
    "deploy/<network>.toml).",
)
@click.option("--yes", is_flag=True, help="Do not ask before sending on a live network.")
@click.option(
    "--verify",
    is_flag=True,
    help="Verify the sources on the network's explorer (Arbiscan) through ape-etherscan; "
    "needs ARBISCAN_API_KEY (or ETHERSCAN_API_KEY).",
)
def all_(network, account_alias, deployments_dir, config_path, yes, verify):
    """Deploy, wire, fund and check the whole suite: token (or an existing one), reward
    pool, BLS verifier, staking, names and Pro.

    Resumable: every contract and step is recorded in deployments/<chain_id>.json as it
    lands, and a re-run continues where the last one stopped.

    Example: ape run deploy all --network arbitrum:sepolia:node --account deployer
    --config deploy/sepolia.toml
    """
    from ape import chain

    from sesh.deploy.config import ConfigError, default_config_path, load_config
    from sesh.deploy.suite import SuiteDeployment

    local = is_local_network(network.name)
    path = config_path or default_config_path(network.name)
    try:
        config = load_config(path)
        config.check_chain(chain.chain_id)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if verify:
        _check_explorer(network)
    deployer = _start(network, account_alias, deployments_dir)
    suite = SuiteDeployment(deployer, config)
    steps = suite.steps()
    click.echo(f"Plan ({path}):")
    for index, step in enumerate(steps, 1):
        state = "done" if step.recorded() else "to do"
        click.echo(f"  {index:>2}. {step.title:<52} {state}")
    todo = sum(not step.recorded() for step in steps)
    if todo:
        held = int(chain.provider.get_balance(deployer.account.address))
        click.echo(gas_needed(todo, len(steps), int(chain.provider.gas_price), held))
    if todo and not local and not yes:
        click.confirm(f"Send up to {todo} steps on {deployer.manifest.network}?", abort=True)

    def progress(index: int, total: int, step) -> None:
        click.echo(f"[{index}/{total}] {step.title}")

    try:
        suite.run(progress)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    if verify:
        _verify_sources(network, deployer)
    failed = _report_wires(suite.check_wires())
    if failed:
        raise click.ClickException(f"{failed} wire(s) wrong after the deployment; see above")
    click.echo(f"Suite deployed and checked: {deployer.manifest.path}")


# Gas the whole suite used on the devnet (deploy/local.toml, every step; Arbitrum adds an
# L1 data fee on top, which is why the estimate doubles it).
SUITE_GAS = 17_500_000
L1_FEE_MARGIN = 2


def gas_needed(todo: int, total: int, gas_price: int, balance: int) -> str:
    """The plan's gas line: about how much gas and ETH the steps left need, and what the
    deployer holds (with a faucet hint when it is short)."""
    gas = SUITE_GAS * todo // total
    wei = gas * gas_price * L1_FEE_MARGIN
    line = (
        f"Gas: about {gas / 1e6:.1f}M for {todo} step(s) (the whole suite used "
        f"{SUITE_GAS / 1e6:.1f}M); at {gas_price / 1e9:.3g} gwei, with room for Arbitrum's "
        f"L1 fee, about {wei / 1e18:.6f} ETH; the deployer holds {balance / 1e18:.6f} ETH"
    )
    if balance < wei:
        line += (
            " - NOT ENOUGH: fund it first (on Arbitrum Sepolia: Sepolia ETH from a faucet, "
            "bridged at bridge.arbitrum.io, or an Arbitrum Sepolia faucet)"
        )
    return line


def _report_wires(checks) -> int:
    """Print every wire; the number of required wires that are wrong."""
    click.echo("Wires:")
    failed = 0
    for check in checks:
        mark = "ok" if check.ok else ("FAIL" if check.required else "warn")
        click.echo(f"  {mark:<4} {check.what}: {check.detail}")
        failed += check.required and not check.ok
    return failed


def _check_explorer(network) -> None:
    try:
        import ape_etherscan  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "--verify needs the ape-etherscan plugin: pip install -c constraints.txt -e '.[verify]'"
        ) from None
    if network.explorer is None:
        raise click.ClickException(f"{network.name} has no block explorer to verify on")


def _verify_sources(network, deployer: Deployer) -> None:
    """Publish the sources of every contract this deployment made (mocks included)."""
    explorer = network.explorer
    for name, entry in deployer.manifest.contracts.items():
        key = f"verified.{name}"
        if not entry.tx_hash or deployer.manifest.is_done(key):
            continue
        click.echo(f"  verifying {name} at {entry.address}")
        try:
            explorer.publish_contract(entry.address)
        except Exception as exc:  # the explorer's own words, one line
            raise click.ClickException(f"verifying {name}: {' '.join(str(exc).split())}") from None
        deployer.manifest.mark_done(key)
