"""`sesh node register|contribute|withdraw|cancel|exit|status|set-endpoint`: the
operator's and delegators' staking commands, attached to the `node` group."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
from rich.table import Table

from sesh.cli.common import (
    Session,
    chain_command,
    console,
    dry_run_option,
    parse_amount,
    send,
    sesh,
    when,
)
from sesh.cli.keys import keystore_option, open_node_keys
from sesh.cli.node import node


def _fee_bps(text: str) -> int:
    try:
        value = Decimal(text.strip().rstrip("%")) * 100
    except ArithmeticError:
        raise click.BadParameter(f"not a percentage: {text}") from None
    if value != value.to_integral_value() or not 0 <= value <= 10_000:
        raise click.BadParameter(f"the fee is 0 to 100 %, in steps of 0.01 %: {text}")
    return int(value)


def _reservation(text: str) -> tuple[str, Decimal]:
    address, sep, amount = text.partition("=")
    if not sep or not address.startswith("0x") or len(address) != 42:
        raise click.BadParameter(f"expected ADDRESS=AMOUNT, got {text}")
    return address, parse_amount(amount)


@chain_command(node, "register")
@keystore_option
@click.option("--endpoint", required=True, help='The node\'s public "host:port".')
@click.option("--fee", "fee", default="0", show_default=True, help="Operator fee, in %.")
@click.option(
    "--stake", help="The operator's stake in SESH (default: the whole staking requirement)."
)
@click.option(
    "--reserve",
    "reservations",
    multiple=True,
    metavar="ADDRESS=SESH",
    help="Reserve a slot for a named delegator (repeatable).",
)
@dry_run_option
def register(
    network, account_alias, manifest_path, deployments_dir, keystore_path: Path,
    endpoint, fee, stake, reservations, dry_run,
):  # fmt: skip
    """Register a service node with the keys of its keystore and stake for it.

    Builds the Ed25519 registration signature and the BLS proof of possession from the
    keystore, checks the balance, and pays with an EIP-2612 permit when the allowance is
    short (one transaction). A stake below the requirement leaves the node open for
    delegators; it activates when its stake is full.

    Example: sesh node register --endpoint 203.0.113.7:22021
    --fee 5 --stake 12500 --reserve 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC=5000
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    amount = parse_amount(stake) if stake else staking.requirement()
    keys = open_node_keys(keystore_path)
    tx = staking.register(
        keys,
        endpoint,
        _fee_bps(fee),
        amount,
        session.account,
        [_reservation(r) for r in reservations],
    )
    receipt = send(tx, dry_run, f"register node {keys.node_id_hex[:16]}… staking {sesh(amount)}")
    if receipt is not None:
        [event] = staking.contract.NodeRegistered.from_receipt(receipt)
        info = staking.node(int(event.node_id))
        console.print(f"node id {event.node_id}: {info.status.name.lower()}, stake "
                      f"{sesh(info.total_stake)} of {sesh(info.requirement)}")  # fmt: skip


@chain_command(node, "contribute")
@click.argument("node_id", type=int)
@click.argument("amount")
@dry_run_option
def contribute(network, account_alias, manifest_path, deployments_dir, node_id, amount, dry_run):
    """Stake AMOUNT SESH in an open node (a permit pays when the allowance is short).

    Example: sesh node contribute 1 5000
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    tx = staking.contribute(node_id, parse_amount(amount), session.account)
    if send(tx, dry_run, f"contribute {sesh(parse_amount(amount))} to node {node_id}"):
        info = staking.node(node_id)
        console.print(f"node {node_id}: {info.status.name.lower()}, stake "
                      f"{sesh(info.total_stake)} of {sesh(info.requirement)}")  # fmt: skip


@chain_command(node, "withdraw")
@click.argument("node_id", type=int)
@dry_run_option
def withdraw(network, account_alias, manifest_path, deployments_dir, node_id, dry_run):
    """Take your contribution back from a node that is still open (a day after staking).

    Example: sesh node withdraw 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    send(
        session.suite.staking.withdraw(node_id, session.account),
        dry_run,
        f"withdraw from node {node_id}",
    )


@chain_command(node, "cancel")
@click.argument("node_id", type=int)
@dry_run_option
def cancel(network, account_alias, manifest_path, deployments_dir, node_id, dry_run):
    """Cancel an open node (operator); every contributor can then claim their stake.

    Example: sesh node cancel 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    send(session.suite.staking.cancel(node_id, session.account), dry_run, f"cancel node {node_id}")


@chain_command(node, "exit")
@click.argument("node_id", type=int)
@click.option("--finalize", is_flag=True, help="Complete an exit whose delay is over.")
@dry_run_option
def exit_(network, account_alias, manifest_path, deployments_dir, node_id, finalize, dry_run):
    """Request an active node's exit (its stakes unlock after the exit delay), or with
    --finalize complete it once the delay is over.

    Example: sesh node exit 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    if finalize:
        send(
            staking.finalize_exit(node_id, session.account),
            dry_run,
            f"finalize exit of node {node_id}",
        )
        return
    if send(
        staking.request_exit(node_id, session.account), dry_run, f"request exit of node {node_id}"
    ):
        console.print(f"stakes unlock at {when(staking.node(node_id).unlock_time)}")


@chain_command(node, "set-endpoint")
@click.argument("node_id", type=int)
@click.argument("endpoint")
@dry_run_option
def set_endpoint(
    network, account_alias, manifest_path, deployments_dir, node_id, endpoint, dry_run
):
    """Change where a node's public API listens (operator).

    Example: sesh node set-endpoint 1 198.51.100.4:22021
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    tx = session.suite.staking.set_endpoint(node_id, endpoint, session.account)
    send(tx, dry_run, f"set node {node_id}'s endpoint to {endpoint}")


@chain_command(node, "status")
@click.argument("node_id", type=int)
def status(network, account_alias, manifest_path, deployments_dir, node_id):
    """Show a node: status, stake, fee, contributors, exit times and rewards.

    Example: sesh node status 1
    """
    from sesh.contracts.staking import EXIT_REASONS, NodeStatus

    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    info = staking.node(node_id)
    table = Table(title=f"node {node_id}", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    state = info.status.name.lower()
    if info.status in (NodeStatus.EXITED, NodeStatus.CANCELLED):
        state += f" ({EXIT_REASONS.get(info.exit_reason, info.exit_reason)})"
    table.add_row("status", state)
    table.add_row("operator", info.operator)
    table.add_row("fee", f"{info.fee_bps / 100:g} %")
    table.add_row("stake", f"{sesh(info.total_stake)} of {sesh(info.requirement)}")
    if info.status == NodeStatus.OPEN:
        table.add_row("min contribution", sesh(staking.min_contribution(node_id)))
    table.add_row("activated", when(info.activated_at))
    table.add_row("exit requested", when(info.exit_requested_at))
    table.add_row("unlock", when(info.unlock_time))
    table.add_row("rewards accrued", sesh(info.accrued_rewards))
    for contributor in staking.contributors(node_id):
        text = sesh(contributor.stake)
        if contributor.reserved:
            text += f" (reserved {sesh(contributor.reserved)})"
        table.add_row(f"contributor {contributor.account}", text)
    console.print(table)
