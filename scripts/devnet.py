"""The local devnet: the whole system on one machine, and a user story through it.

    make devnet                       # or: ape run devnet
    make devnet ARGS="--exit"         # stop after the story
    make devnet ARGS="--nodes 16"     # more service nodes (default 12)
    make devnet ARGS="--migrate 200 --exit"   # the move: seed 200 old nodes, then the story
    make devnet ARGS="--port 8645 --node-port 23100"   # beside another devnet
    make devnet-stop                  # stop a devnet started in the background

A port in use (the chain's or a node's) is refused before anything starts or is written:
the manifest and the nodes' directory of a running devnet are never touched. Ctrl-C,
SIGINT or SIGTERM (also to a devnet started in the background; its pid is in
`<dir>/../devnet.pid`) stop the bridges and the chain.

Starts anvil (Prague, Arbitrum-like chain id), deploys the whole suite with the same code
as `ape run deploy all` (sesh.deploy.suite, configured by deploy/local.toml), registers
the service nodes (some delegated), starts a bridge per node on loopback
(`.cache/devnet/node-<i>/`), waits until they agree on the swarm map, and runs the story
of sesh/devnet/story.py. Then it keeps everything running until Ctrl-C.
"""

import os
import signal
import time
from pathlib import Path

import click

from sesh.devnet.chain import DEVNET_CHAIN_ID, DevchainError, start_anvil
from sesh.devnet.network import DEFAULT_PORT
from sesh.devnet.runner import (
    DEFAULT_RPC_URL,
    DevnetError,
    anvil_accounts,
    check_chain_port,
    connected,
    deploy_devnet,
    network_hint,
    pick_ports,
    start_nodes_and_story,
)
from sesh.devnet.story import MIN_STORY_NODES

DEVNET_DIR = Path(".cache/devnet")

# Blocks mined before the suite is deployed (see below).
HISTORY_BLOCKS = 1_500


@click.command()
@click.option("--port", type=int, default=8545, show_default=True, help="anvil's JSON-RPC port.")
@click.option(
    "--nodes",
    type=click.IntRange(0, 60),
    default=12,
    show_default=True,
    help=f"Service nodes to register and run: 0 (the chain and contracts only) or at least "
    f"{MIN_STORY_NODES}.",
)
@click.option(
    "--node-port",
    type=int,
    default=DEFAULT_PORT,
    show_default=True,
    help="The first node's HTTP port (the next nodes count up; taken ports are skipped).",
)
@click.option(
    "--migrate",
    type=click.IntRange(0, 5_000),
    default=0,
    help="Play the move: deploy the staking contract to seed, seed an old-network snapshot "
    "of this many nodes (the devnet's own nodes among them), start it, and go on with the "
    "migrated network (docs/migration.md).",
)
@click.option(
    "--exit",
    "exit_after",
    is_flag=True,
    help="Stop once the story is told instead of running until Ctrl-C.",
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
@click.option(
    "--dir",
    "devnet_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEVNET_DIR,
    show_default=True,
    help="The nodes' directories (replaced on every start).",
)
def cli(port, nodes, node_port, migrate, exit_after, deployments_dir, config_path, devnet_dir):
    """Start a local Arbitrum-like chain, deploy the Session contracts, run service nodes
    and a user story through the whole system."""
    from ape.logging import LogLevel, logger
    from rich.console import Console

    from sesh.client.onion_client import ClientError
    from sesh.devnet.story import StoryError

    if 0 < nodes < MIN_STORY_NODES:
        raise click.BadParameter(
            f"{nodes}: the story needs at least {MIN_STORY_NODES} nodes (or 0 for none)",
            param_hint="--nodes",
        )
    # Before anything starts or is written: a port in use is most likely a running devnet,
    # whose manifest and node directories a second start would replace under it.
    try:
        check_chain_port(port)
        node_ports = pick_ports(nodes, node_port) if nodes else []
    except DevnetError as exc:
        raise click.ClickException(str(exc)) from None
    console = Console()
    # SIGTERM (a supervisor, `kill`) stops the bridges and the chain as Ctrl-C does.
    _stop_on_signals()
    pid_file = devnet_dir.parent / "devnet.pid"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")
    # The devnet narrates its own transactions; Ape's line per confirmation would drown it.
    logger.set_level(LogLevel.WARNING)
    started = time.monotonic()
    log_path = devnet_dir.parent / "devnet-anvil.log"
    console.print(
        f"[bold]Starting anvil[/] (hardfork prague, chain id {DEVNET_CHAIN_ID}, port {port})"
    )
    try:
        anvil = start_anvil(
            port=port, chain_id=DEVNET_CHAIN_ID, accounts=anvil_accounts(nodes), log_path=log_path
        )
    except DevchainError as exc:
        pid_file.unlink(missing_ok=True)
        raise click.ClickException(
            f"{exc} (is port {port} taken? try: make devnet ARGS='--port {port + 100}')"
        ) from None

    # A chain with some history: clients' `ifelse` conditions (and Session's own tests of
    # them) take heights below 1,234 as long past. Empty blocks, with the start's timestamp.
    anvil.rpc("anvil_mine", [hex(HISTORY_BLOCKS), "0x0"])

    devnet = None
    try:
        from ape import project

        # The first run compiles every contract (half a minute); later runs read the cache.
        with console.status("Compiling the contracts (the first run only)"):
            compiled = project.load_contracts()
        console.print(f"[bold]Compiled[/] {len(compiled)} contracts (.build/)")
        console.print(
            f"[bold]Deploying[/] the suite ({config_path}) with sesh.deploy.suite, "
            "the code of `ape run deploy all`"
        )
        try:
            with connected(anvil.url):
                manifest = deploy_devnet(
                    anvil.url, deployments_dir, config_path, console, seeding=bool(migrate)
                )
                if nodes:
                    devnet = start_nodes_and_story(
                        anvil.url,
                        manifest,
                        console,
                        nodes,
                        node_ports,
                        devnet_dir,
                        anvil.rpc,
                        migrate=migrate,
                    )
        except DevnetError as exc:
            raise click.ClickException(str(exc)) from None
        except (StoryError, ClientError, TimeoutError) as exc:
            raise click.ClickException(
                f"{exc}\nThe bridges' logs are in {devnet_dir}/node-*/node.log, anvil's in "
                f"{log_path}."
            ) from None
        # Ape's providers install their own SIGINT/SIGTERM handlers when they connect
        # (exit 130 at once); while the devnet idles, Ctrl-C and SIGTERM stop it in order.
        _stop_on_signals()
        console.print(f"Done in {time.monotonic() - started:.0f} s.")
        if exit_after:
            console.print("--exit: stopping the bridges and the chain.")
            return
        explore(console, devnet, anvil.url, devnet_dir)
        while anvil.process.poll() is None:
            time.sleep(0.5)
        raise click.ClickException(f"anvil stopped unexpectedly; see {log_path}")
    except KeyboardInterrupt:
        console.print("\nStopping the devnet.")
    finally:
        if devnet is not None:
            devnet.stop()
        anvil.stop()
        pid_file.unlink(missing_ok=True)
        console.print("Devnet stopped.")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt: the devnet stops bridges and chain."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def explore(console, devnet, url: str, devnet_dir: Path) -> None:
    """What to try while the devnet runs, with the ports it runs on."""
    console.print(
        f"[green]Devnet running[/] (RPC {url}). Press Ctrl-C (or make devnet-stop) to stop."
    )
    if url != DEFAULT_RPC_URL:
        console.print(f"  {network_hint(url)}")
    console.print("Try:")
    if devnet is None:
        console.print("  sesh --help")
        console.file.flush()
        return
    first = devnet.network.live[0].process.url
    users = devnet_dir / "users"
    for line in (
        f"curl {first}/swarms",
        f"curl {first}/votes",
        f"sesh msg fetch --node {first} --key-file {users}/alice.key",
        f'sesh msg send --node {first} --to $(sesh msg id --key-file {users}/bob.key) "hi bob"',
        "sesh node status 1",
        "sesh names resolve alice",
        f"tail -f {devnet_dir}/node-1/node.log",
    ):
        console.print(f"  {line}")
    # Into a pipe or a log file (`make devnet > devnet.log &`) output is block-buffered:
    # without a flush the hints would wait there until the devnet stops.
    console.file.flush()
