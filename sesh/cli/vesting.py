"""`sesh vesting …`: a beneficiary's vesting allocation (VestingStaking) — its schedule,
releases, and staking its locked SESH through it (docs/migration.md)."""

from __future__ import annotations

from pathlib import Path

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
    parse_amount,
    print_json,
    send,
    sesh,
    want_json,
    when,
)
from sesh.cli.keys import keystore_option, open_node_keys
from sesh.rules.units import from_units, to_units


@click.group()
def vesting() -> None:
    """Vesting allocations: schedule, release, and staking the locked SESH.

    Example: sesh vesting show 0xYourVestingContract
    """


def _vesting(network, account_alias, manifest_path, deployments_dir, address):
    session = Session(network, account_alias, manifest_path, deployments_dir)
    return session, session.suite.vesting(address)


@chain_command(vesting, "show")
@click.argument("address", type=ADDRESS)
@json_option
def show(network, account_alias, manifest_path, deployments_dir, address):
    """Show an allocation: schedule, vested, released, staked, releasable.

    Example: sesh vesting show 0xYourVestingContract
    """
    _, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    s = allocation.state()
    rows = {
        "beneficiary": s.beneficiary,
        "revoker": s.revoker if int(s.revoker, 16) else "none (irrevocable)",
        "schedule": f"linear {when(s.start)} → {when(s.end)}, cliff {when(s.cliff)}",
        "transferable": "yes" if s.transferable else "no",
        "allocation": sesh(from_units(s.total)),
        "vested": sesh(from_units(s.vested)),
        "released": sesh(from_units(s.released)),
        "releasable now": sesh(from_units(s.releasable)),
        "staked": sesh(from_units(s.staked)),
        "on hand": sesh(from_units(s.on_hand)),
        "rewards paid": sesh(from_units(s.rewards_paid)),
        "revoked": when(s.revoked_at) if s.revoked_at else "no",
    }
    if want_json():
        print_json(
            {
                "address": s.address,
                "beneficiary": s.beneficiary,
                "revoker": s.revoker,
                "start": s.start,
                "cliff": s.cliff,
                "end": s.end,
                "transferable": s.transferable,
                "revoked_at": s.revoked_at,
                **{
                    f"{k}_sesh": json_amount(from_units(getattr(s, k)))
                    for k in ("total", "vested", "released", "releasable", "staked",
                              "on_hand", "rewards_paid")
                },
            }
        )  # fmt: skip
        return
    table = Table(title=f"vesting {s.address}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(key, value)
    console.print(table)


@chain_command(vesting, "release")
@click.argument("address", type=ADDRESS)
@dry_run_option
def release(network, account_alias, manifest_path, deployments_dir, address, dry_run):
    """Release what has vested and is on hand to the beneficiary.

    Example: sesh vesting release 0xYourVestingContract
    """
    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    state = allocation.state()
    if str(session.account.address) != state.beneficiary:
        raise click.ClickException(
            f"vesting: not the beneficiary: {session.account.address} signs, the "
            f"beneficiary is {state.beneficiary}; nothing sent"
        )
    amount = state.releasable
    if amount == 0:
        raise click.ClickException("nothing to release now (vested and on hand: 0 SESH)")
    send(allocation.release(session.account), dry_run, f"release {sesh(from_units(amount))}")


@chain_command(vesting, "register")
@click.argument("address", type=ADDRESS)
@keystore_option
@click.option("--endpoint", required=True, help='The node\'s public "host:port".')
@click.option("--fee", "fee_bps", type=click.IntRange(0, 10_000), default=0, show_default=True,
              help="Operator fee in basis points.")  # fmt: skip
@click.option("--stake", help="SESH from the allocation (default: the whole requirement).")
@dry_run_option
def register(
    network, account_alias, manifest_path, deployments_dir, address, keystore_path: Path,
    endpoint, fee_bps, stake, dry_run,
):  # fmt: skip
    """Register a node operated by the allocation, staking its locked SESH.

    The proof of possession names the vesting contract as the operator; the rewards go
    to the beneficiary when claimed through `sesh vesting claim`.

    Example: sesh vesting register 0xYourVestingContract --endpoint 203.0.113.7:22021
    """
    from ape import chain

    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    staking = session.suite.staking
    amount = to_units(parse_amount(stake) if stake else staking.requirement())
    keys = open_node_keys(keystore_path)
    registration = keys.registration_args(chain.chain_id, staking.address, allocation.address)
    receipt = send(
        allocation.register_node(registration, endpoint, fee_bps, amount, session.account),
        dry_run,
        f"register node {keys.node_id_hex[:16]}… staking {sesh(from_units(amount))}",
    )
    if receipt is not None:
        [event] = staking.contract.NodeRegistered.from_receipt(receipt)
        console.print(f"node id {event.node_id}")


@chain_command(vesting, "contribute")
@click.argument("address", type=ADDRESS)
@click.argument("node_id", type=NODE_ID)
@click.argument("amount")
@dry_run_option
def contribute(network, account_alias, manifest_path, deployments_dir, address, node_id, amount,
               dry_run):  # fmt: skip
    """Contribute AMOUNT SESH of the allocation to an open node.

    Example: sesh vesting contribute 0xYourVestingContract 7 5000
    """
    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    units = to_units(parse_amount(amount))
    send(allocation.contribute(node_id, units, session.account), dry_run,
         f"contribute {sesh(from_units(units))} to node {node_id}")  # fmt: skip


@chain_command(vesting, "withdraw")
@click.argument("address", type=ADDRESS)
@click.argument("node_id", type=NODE_ID)
@dry_run_option
def withdraw(network, account_alias, manifest_path, deployments_dir, address, node_id, dry_run):
    """Take the allocation's contribution back from an open node.

    Example: sesh vesting withdraw 0xYourVestingContract 7
    """
    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    send(allocation.withdraw_contribution(node_id, session.account), dry_run,
         f"withdraw from node {node_id}")  # fmt: skip


@chain_command(vesting, "exit")
@click.argument("address", type=ADDRESS)
@click.argument("node_id", type=NODE_ID)
@dry_run_option
def exit_node(network, account_alias, manifest_path, deployments_dir, address, node_id, dry_run):
    """Request the exit of a node the allocation operates or stakes in.

    Example: sesh vesting exit 0xYourVestingContract 7
    """
    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    send(allocation.request_exit(node_id, session.account), dry_run, f"exit node {node_id}")


@chain_command(vesting, "claim")
@click.argument("address", type=ADDRESS)
@click.argument("node_id", type=NODE_ID)
@dry_run_option
def claim(network, account_alias, manifest_path, deployments_dir, address, node_id, dry_run):
    """Claim from a node: rewards to the beneficiary, the stake (once unlocked) back to
    the allocation.

    Example: sesh vesting claim 0xYourVestingContract 7
    """
    session, allocation = _vesting(network, account_alias, manifest_path, deployments_dir, address)
    send(allocation.claim(node_id, session.account), dry_run, f"claim from node {node_id}")
