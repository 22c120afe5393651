"""`sesh node ...`: running and operating a service node.

`run` starts the node bridge. The operator's commands (register, contribute, exit,
...) live in `node_ops.py` and attach themselves to this group.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click


@click.group()
def node() -> None:
    """Run and operate a service node.

    Example: sesh node run --config node.toml
    """


def config_option(help_text: str):
    """`--config node.toml`."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="node.toml",
        show_default=True,
        help=help_text,
    )


@node.command()
@config_option("The node's configuration file (see docs/bridge.md).")
def run(config_path: Path) -> None:
    """Run the node bridge: follow the chain, keep the registry and swarms, serve the API.

    Stops cleanly on SIGTERM or Ctrl-C; a restart continues from the last applied block.

    Example: sesh node run --config node.toml
    """
    from sesh.crypto.key_files import IdentityError
    from sesh.node.app import build_bridge, run_until_signalled, setup_logging
    from sesh.node.chain.store import StoreError
    from sesh.node.config import ConfigError, load_config
    from sesh.node.storage.messages import MessageDBError
    from sesh.node.votes.chain_tx import ChainTxError
    from sesh.node.votes.db import VotesDBError

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from None
    setup_logging(config.log_level, config.log_format)
    try:
        bridge = build_bridge(config)
    except (IdentityError, ChainTxError) as exc:
        raise click.ClickException(f"{config_path}: {exc}") from None
    except (StoreError, MessageDBError, VotesDBError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(run_until_signalled(bridge))
    except OSError as exc:  # the listen address is taken, typically
        raise click.ClickException(
            f"cannot serve on {config.node.listen_host}:"
            f"{config.node.listen_port}: {exc.strerror or exc}"
        ) from None


@node.command()
@config_option("The node's configuration (chain, contracts, data_dir, votes.submitter).")
@click.option("--action", type=click.Choice(["exit", "remove", "liquidate"]), required=True)
@click.option(
    "--node-id",
    type=click.IntRange(1, 2**64 - 1),
    required=True,
    help="The node the vote is about.",
)
@click.option(
    "--bridge",
    help="URL of the bridge whose registry lists the network (default: this node's listen).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to keep asking for signatures before giving up.",
)
@click.option("--dry-run", is_flag=True, help="Collect and count signatures; send nothing.")
def aggregate(config_path: Path, action, node_id, bridge, wait, dry_run) -> None:
    """Lead a network vote by hand: collect the BLS signatures of the nodes in the network
    (those activated before the vote's timestamp), and send the transaction once two thirds
    of them signed.

    Uses the node's vote log (its data_dir), so it never sends what the bridge already
    sent, and the node's submitter account (votes.submitter).

    Example: sesh node aggregate --config node.toml --action remove --node-id 7
    """
    from sesh.node.config import ConfigError, load_config
    from sesh.node.votes.chain_tx import ChainTxError, load_sender
    from sesh.node.votes.db import VotesDBError

    try:
        config = load_config(config_path)
        sender = None if dry_run else load_sender(config.votes.submitter)
    except (ConfigError, ChainTxError) as exc:
        raise click.ClickException(f"{config_path}: {exc}") from None
    if sender is None and not dry_run:
        raise click.ClickException(
            f"{config_path}: no [votes.submitter] to send with (or pass --dry-run)"
        )
    url = bridge or f"http://{config.node.listen_host}:{config.node.listen_port}"
    try:
        outcome = asyncio.run(_aggregate(config, sender, action, node_id, url, wait))
    except VotesDBError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{outcome.state}: {outcome.detail}")
    if outcome.non_signers:
        click.echo(f"non-signers: {', '.join(map(str, outcome.non_signers))}")
    if dry_run:
        if outcome.signed < outcome.needed or not outcome.needed:
            raise SystemExit(1)
        return
    if outcome.state not in ("done", "closed"):
        raise SystemExit(1)


async def _aggregate(config, sender, action: str, node_id: int, url: str, wait: float):
    import aiohttp

    from sesh.node.chain.rpc import RpcPool
    from sesh.node.metrics import Metrics
    from sesh.node.votes.aggregator import Aggregator, Voter
    from sesh.node.votes.chain_tx import ChainClock, StakingChain
    from sesh.node.votes.db import VotesDB
    from sesh.node.votes.rules import NETWORK_STATUSES

    metrics = Metrics()
    pool = RpcPool(
        config.chain.providers,
        config.chain.chain_id,
        metrics,
        timeout=config.chain.request_timeout,
    )
    async with pool, aiohttp.ClientSession() as session:
        try:
            async with session.get(f"{url.rstrip('/')}/nodes") as response:
                listing = await response.json()
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise click.ClickException(f"cannot read the registry at {url}/nodes: {exc}") from None
        try:
            voters = [
                Voter(
                    int(n["node_id"]),
                    bytes.fromhex(n["bls_pubkey"]),
                    n["endpoint"],
                    _activated_block(n.get("activated_block")),
                )
                for n in listing["nodes"]
                if n["status"] in NETWORK_STATUSES
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise click.ClickException(
                f"{url}/nodes is not a bridge's node list ({type(exc).__name__}: {exc})"
            ) from None
        chain = StakingChain(pool, config.contracts.staking, config.chain.chain_id)
        # Opened once the network is known: a refused command leaves no database behind.
        db = VotesDB(config.node.data_dir / "votes.sqlite3")
        aggregator = Aggregator(
            chain, ChainClock(pool), db, sender, lambda: session, config.votes.sign_timeout
        )
        deadline = asyncio.get_running_loop().time() + wait

        def show(outcome) -> None:
            click.echo(f"  {outcome.state}: {outcome.detail}")

        try:
            return await aggregator.run(
                action,
                node_id,
                lambda: voters,
                retry_interval=min(5.0, max(1.0, wait / 10)),
                deadline=deadline,
                on_round=show,
            )
        finally:
            db.close()


def _activated_block(value) -> int | None:
    """A listed node's activation block: a block number, or None when the listing has
    none (the aggregator then asks the contract when the node was activated)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"activated_block {value!r} is not a block number")
    return value
