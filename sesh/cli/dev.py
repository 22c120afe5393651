"""`sesh dev ...`: conveniences for local chains only (the devnet, test chains)."""

from __future__ import annotations

import click

from sesh.cli.common import Session, chain_command, console
from sesh.contracts import Tx

LOCAL_CHAIN_IDS = (31337, 412346)


@click.group()
def dev() -> None:
    """Local chains only: move the clock.

    Example: sesh dev advance-time --days 1
    """


@chain_command(dev, "advance-time")
@click.option("--days", type=float, default=1.0, show_default=True)
def advance_time(network, account_alias, manifest_path, deployments_dir, days):
    """Move a local chain's clock forward and refresh its mock price feeds.

    Refused on any chain but a local one. The mocks are refreshed at their current
    answer, so prices stay fresh after the jump.

    Example: sesh dev advance-time --days 1
    """
    from ape import chain

    if chain.chain_id not in LOCAL_CHAIN_IDS:
        raise click.ClickException(f"chain {chain.chain_id} is not a local chain; refused")
    session = Session(network, account_alias, manifest_path, deployments_dir)
    seconds = int(days * 86_400)
    refreshed = move_chain_time(session.suite.manifest, seconds, session.account)
    console.print(f"advanced {seconds} s; refreshed {', '.join(refreshed) or 'no feeds'}")


def move_chain_time(manifest, seconds: int, account) -> list[str]:
    """Move a local chain's clock `seconds` forward (a block is mined at the new time) and
    refresh the manifest's mock price feeds at their answer; the names of the feeds."""
    from ape import chain, project

    chain.provider.web3.provider.make_request("evm_increaseTime", [seconds])
    chain.provider.web3.provider.make_request("evm_mine", [])
    refreshed = []
    for name, entry in manifest.contracts.items():
        if entry.contract_type == "MockAggregator":
            feed = project.MockAggregator.at(entry.address)
            Tx(feed, "set_answer", (feed.answer(),), account).send()
            refreshed.append(name)
    return refreshed
