"""`sesh rewards show|claim|distribute`: what your stakes earned, and taking it."""

from __future__ import annotations

import click
from rich.table import Table

from sesh.cli.common import Session, chain_command, console, dry_run_option, send, sesh


@click.group()
def rewards() -> None:
    """Staking rewards: show, claim, and distribute the pool's daily release.

    Example: sesh rewards show
    """


def _node_ids(session: Session, node_ids: tuple[int, ...], address: str) -> list[int]:
    if node_ids:
        return list(node_ids)
    suite = session.suite
    return suite.staking.nodes_of(address, suite.block_of("ServiceNodeStaking"))


@chain_command(rewards, "show")
@click.option("--node", "node_ids", type=int, multiple=True, help="Only this node (repeatable).")
@click.option("--address", help="Whose rewards (default: the account's).")
def show(network, account_alias, manifest_path, deployments_dir, node_ids, address):
    """Show the rewards and unlocked stakes you can claim, node by node.

    Counts what has been distributed; `sesh rewards distribute` credits the pool's
    pending release first.

    Example: sesh rewards show --account TEST::2
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    who = session.address_or_account(address)
    table = Table(title=f"claimable by {who}")
    for column in ("node", "status", "rewards", "stake"):
        table.add_column(column)
    total_rewards = total_stake = 0
    for node_id in _node_ids(session, node_ids, who):
        rewards_now, stake = staking.claimable(node_id, who)
        total_rewards += rewards_now
        total_stake += stake
        status = staking.node(node_id).status.name.lower()
        table.add_row(str(node_id), status, sesh(rewards_now), sesh(stake))
    console.print(table)
    console.print(f"total: {sesh(total_rewards)} rewards, {sesh(total_stake)} stake")
    console.print(
        f"pool releases {sesh(session.suite.pool.preview_release())} at the next distribution"
    )


@chain_command(rewards, "claim")
@click.option("--node", "node_ids", type=int, multiple=True, help="Only this node (repeatable).")
@dry_run_option
def claim(network, account_alias, manifest_path, deployments_dir, node_ids, dry_run):
    """Claim your rewards (and stakes once unlocked) from your nodes in one transaction.

    Example: sesh rewards claim --account TEST::2
    """
    from sesh.contracts import ContractError

    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    who = str(session.account.address)
    candidates = _node_ids(session, node_ids, who)
    if not candidates:
        raise ContractError(f"staking: {who} has no stake in any node")
    before = session.suite.token.balance(who)
    send(staking.claim(candidates, session.account), dry_run, f"claim from nodes {candidates}")
    if not dry_run:
        console.print(f"received {sesh(session.suite.token.balance(who) - before)}")


@chain_command(rewards, "distribute")
@dry_run_option
def distribute(network, account_alias, manifest_path, deployments_dir, dry_run):
    """Pull the pool's release (once per day) and credit every active node; anyone may.

    Example: sesh rewards distribute
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    pending = session.suite.pool.preview_release()
    send(session.suite.staking.distribute(session.account), dry_run, f"distribute {sesh(pending)}")
