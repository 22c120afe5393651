"""The local devnet: anvil (Prague, Arbitrum-like chain id) with the suite deployed.

    make devnet                       # or: ape run devnet
    make devnet ARGS="--exit"         # deploy, print, stop

Deploys with the same code as `ape run deploy` (sesh.deploy), prints the addresses and
keeps the chain running until Ctrl-C.
"""

import time
from pathlib import Path

import click

from sesh.devchain import DEVNET_CHAIN_ID, DevchainError, start_anvil


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
def cli(port, exit_after, deployments_dir):
    """Start a local Arbitrum-like chain and deploy the Session contracts on it."""
    from ape import accounts, networks
    from rich.console import Console
    from rich.table import Table

    from sesh.deploy import Deployer, deploy_token
    from sesh.deployments import Manifest
    from sesh.units import format_sesh

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
        with networks.parse_network_choice(
            "arbitrum:local:foundry", provider_settings={"host": anvil.url}
        ):
            # The chain is new: whatever an earlier devnet recorded is gone.
            manifest = Manifest.load(DEVNET_CHAIN_ID, deployments_dir)
            manifest.forget()
            manifest.network = "arbitrum:local"
            deployer_account = accounts.test_accounts[0]
            deployer = Deployer(account=deployer_account, manifest=manifest, echo=console.print)
            console.print("[bold]Deploying[/] with sesh.deploy (the code `ape run deploy` uses)")
            token = deploy_token(deployer)

            table = Table(title="Session devnet", show_lines=False)
            table.add_column("what")
            table.add_column("value", overflow="fold")
            table.add_row("RPC", anvil.url)
            table.add_row("chain id", str(DEVNET_CHAIN_ID))
            table.add_row("SessionToken (SESH)", str(token.address))
            table.add_row(
                "deployer / genesis",
                f"{deployer_account.address} ({format_sesh(token.balanceOf(deployer_account))})",
            )
            table.add_row("manifest", str(manifest.path))
            console.print(table)
            console.print(
                "Test accounts use the mnemonic "
                "'test test test test test test test test test test test junk'."
            )
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
