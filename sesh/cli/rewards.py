"""`sesh rewards show|claim|distribute`: what your stakes earned, and taking it."""

from __future__ import annotations

import click
from rich.table import Table

from sesh.cli.common import (
    ADDRESS,
    NODE_ID,
    Session,
    chain_command,
    console,
    dry_run_option,
    json_amount,
    json_option,
    print_json,
    read_command,
    send,
    sesh,
    want_json,
    when,
)


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


@read_command(rewards, "show")
@click.option(
    "--node", "node_ids", type=NODE_ID, multiple=True, help="Only this node (repeatable)."
)
@click.option("--address", type=ADDRESS, help="Whose rewards (default: the account's).")
@json_option
def show(network, account_alias, manifest_path, deployments_dir, node_ids, address):
    """Show the rewards and unlocked stakes you can claim, node by node.

    Counts what has been distributed; `sesh rewards distribute` credits the pool's
    pending release first.

    Example: sesh rewards show --account TEST::2
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    who = session.address_or_account(address)
    rows = []
    for node_id in _node_ids(session, node_ids, who):
        rewards_now, stake = staking.claimable(node_id, who)
        status = staking.node(node_id).status.name.lower()
        rows.append((node_id, status, rewards_now, stake))
    total_rewards = sum((r[2] for r in rows), start=0)
    total_stake = sum((r[3] for r in rows), start=0)
    pending = session.suite.pool.preview_release()
    if want_json():
        print_json(
            {
                "account": who,
                "nodes": [
                    {
                        "node_id": n,
                        "status": st,
                        "rewards_sesh": json_amount(r),
                        "stake_sesh": json_amount(k),
                    }
                    for n, st, r, k in rows
                ],
                "total_rewards_sesh": json_amount(total_rewards),
                "total_stake_sesh": json_amount(total_stake),
                "pool_next_release_sesh": json_amount(pending),
            }
        )
        return
    table = Table(title=f"claimable by {who}")
    for column in ("node", "status", "rewards", "stake"):
        table.add_column(column)
    for node_id, status, rewards_now, stake in rows:
        table.add_row(str(node_id), status, sesh(rewards_now), sesh(stake))
    console.print(table)
    console.print(f"total: {sesh(total_rewards)} rewards, {sesh(total_stake)} stake")
    console.print(f"pool releases {sesh(pending)} at the next distribution")


@chain_command(rewards, "claim")
@click.option(
    "--node", "node_ids", type=NODE_ID, multiple=True, help="Only this node (repeatable)."
)
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
    if pending == 0:
        # A transaction that moves nothing costs gas for nothing.
        pool = session.suite.pool.contract
        next_day = int(pool.START()) + (int(pool.released_days()) + 1) * 86_400
        raise click.ClickException(
            f"nothing to distribute: the pool releases 0 SESH now (its next daily release "
            f"is due at {when(next_day)}); nothing sent"
        )
    send(session.suite.staking.distribute(session.account), dry_run, f"distribute {sesh(pending)}")
