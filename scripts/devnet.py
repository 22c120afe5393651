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
from sesh.devnet import DevnetError, deploy_devnet


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
        try:
            deploy_devnet(anvil.url, deployments_dir, config_path, console)
        except DevnetError as exc:
            raise click.ClickException(str(exc)) from None
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
