"""`sesh node register|contribute|withdraw|cancel|exit|status|set-endpoint`: the
operator's and delegators' staking commands, attached to the `node` group."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
from rich.table import Table

from sesh.cli.common import (
    NODE_ID,
    Session,
    chain_command,
    console,
    dry_run_option,
    json_amount,
    json_option,
    parse_amount,
    print_json,
    read_command,
    send,
    sesh,
    want_json,
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
    from sesh.contracts.base import ContractError
    from sesh.contracts.inputs import check_address

    address, sep, amount = text.partition("=")
    if not sep:
        raise click.BadParameter(f"expected ADDRESS=SESH, got {text}", param_hint="--reserve")
    try:
        return check_address(address, "reserved address"), parse_amount(amount)
    except ContractError as exc:
        raise click.BadParameter(str(exc), param_hint="--reserve") from None


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
@click.option(
    "--force",
    is_flag=True,
    help="Register even though the endpoint does not serve this node's key or the chain "
    "already has a node with its keys (the network will vote such a node out).",
)
@dry_run_option
def register(
    network, account_alias, manifest_path, deployments_dir, keystore_path: Path,
    endpoint, fee, stake, reservations, force, dry_run,
):  # fmt: skip
    """Register a service node with the keys of its keystore and stake for it.

    Builds the Ed25519 registration signature and the BLS proof of possession from the
    keystore, checks the balance, and pays with an EIP-2612 permit when the allowance is
    short (one transaction). A stake below the requirement leaves the node open for
    delegators; it activates when its stake is full.

    First, a preflight: the endpoint must answer GET /info with this keystore's Ed25519
    key (start the node with `sesh node run` before registering: a node that does not
    serve is voted out and its stake locked), and no node on chain may hold its Ed25519
    or BLS key. --force registers anyway, with a warning.

    Example: sesh node register --endpoint 203.0.113.7:22021
    --fee 5 --stake 12500 --reserve 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC=5000
    """
    from ape import chain

    from sesh.contracts.inputs import check_endpoint, is_local_chain

    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    amount = parse_amount(stake) if stake else staking.requirement()
    endpoint = check_endpoint(endpoint, is_local_chain(chain.chain_id))
    slots = [_reservation(r) for r in reservations]
    _preflight(staking, keystore_path, endpoint, session.suite.block_of("ServiceNodeStaking"),
               force)  # fmt: skip
    keys = open_node_keys(keystore_path)
    tx = staking.register(
        keys,
        endpoint,
        _fee_bps(fee),
        amount,
        session.account,
        slots,
    )
    receipt = send(tx, dry_run, f"register node {keys.node_id_hex[:16]}… staking {sesh(amount)}")
    if receipt is not None:
        [event] = staking.contract.NodeRegistered.from_receipt(receipt)
        info = staking.node(int(event.node_id))
        console.print(f"node id {event.node_id}: {info.status.name.lower()}, stake "
                      f"{sesh(info.total_stake)} of {sesh(info.requirement)}")  # fmt: skip


def _preflight(staking, keystore_path: Path, endpoint: str, from_block: int, force: bool):
    """Refuse (unless `force`) to register a node nobody serves, or whose keys the chain
    already holds: either way the network votes it out and its stake stays locked."""
    from sesh.cli.node_setup import BridgeUnreachable, fetch_info
    from sesh.crypto import bls
    from sesh.crypto.keystore import KeystoreError, public_keys

    try:
        public = public_keys(keystore_path)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    problems = []
    try:
        served = fetch_info(endpoint).get("ed25519_pubkey")
    except BridgeUnreachable as exc:
        problems.append(
            f"{endpoint} does not serve GET /info: {exc}; start the node first "
            "(sesh node init, then sesh node run) and give its public host:port"
        )
    else:
        if served != public.ed25519_pubkey:
            problems.append(
                f"{endpoint} serves Ed25519 key {served}, not this keystore's "
                f"{public.ed25519_pubkey} (another node, or another keystore?)"
            )
    bls_key = bls.PublicKey.from_compressed(bytes.fromhex(public.bls_pubkey)).to_eip2537()
    problems += [
        f"{held} already (bridges keep a second node with its keys out of every swarm)"
        for held in staking.key_holders(bytes.fromhex(public.ed25519_pubkey), bls_key, from_block)
    ]
    if not problems:
        return
    if not force:
        raise click.ClickException(
            "; ".join(problems) + " — refused (--force registers anyway; the network would "
            "vote the node out and lock its stake)"
        )
    for problem in problems:
        click.echo(
            f"Warning: --force: {problem}. The network will vote this node out and its "
            "stake stays locked for the exit delay.",
            err=True,
        )


def _duplicate_keys(staking, node_id: int, from_block: int) -> list[str]:
    """Why bridges keep `node_id` out of swarms whatever the chain says: an earlier node
    registered its Ed25519 key (or BLS key) first."""
    registrations = staking.registrations(from_block)
    mine = next((r for r in registrations if r.node_id == node_id), None)
    if mine is None:
        return []
    problems = []
    for earlier in registrations:
        if earlier.node_id >= node_id:
            break
        if earlier.ed25519_pubkey == mine.ed25519_pubkey:
            problems.append(
                f"node {earlier.node_id} registered this Ed25519 key first: every bridge "
                "keeps this node out of the swarms"
            )
        if earlier.bls_pubkey == mine.bls_pubkey:
            problems.append(f"node {earlier.node_id} registered this BLS key first")
    return problems


@chain_command(node, "contribute")
@click.argument("node_id", type=NODE_ID)
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
@click.argument("node_id", type=NODE_ID)
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
@click.argument("node_id", type=NODE_ID)
@dry_run_option
def cancel(network, account_alias, manifest_path, deployments_dir, node_id, dry_run):
    """Cancel an open node (operator); every contributor can then claim their stake.

    Example: sesh node cancel 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    send(session.suite.staking.cancel(node_id, session.account), dry_run, f"cancel node {node_id}")


@chain_command(node, "exit")
@click.argument("node_id", type=NODE_ID)
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
@click.argument("node_id", type=NODE_ID)
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


@read_command(node, "status")
@click.argument("node_id", type=NODE_ID)
@json_option
def status(network, account_alias, manifest_path, deployments_dir, node_id):
    """Show a node: status, stake, fee, contributors, exit times and rewards.

    Example: sesh node status 1
    """
    from sesh.contracts.staking import EXIT_REASONS, NodeStatus

    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    info = staking.node(node_id)
    state = info.status.name.lower()
    if info.status in (NodeStatus.EXITED, NodeStatus.CANCELLED):
        state += f" ({EXIT_REASONS.get(info.exit_reason, info.exit_reason)})"
    warnings = _duplicate_keys(staking, node_id, session.suite.block_of("ServiceNodeStaking"))
    minimum = staking.min_contribution(node_id) if info.status == NodeStatus.OPEN else None
    contributors = staking.contributors(node_id)
    if want_json():
        print_json(
            {
                "node_id": node_id,
                "status": state,
                "warnings": warnings,
                "operator": info.operator,
                "fee_percent": str(info.fee_bps / 100),
                "stake_sesh": json_amount(info.total_stake),
                "requirement_sesh": json_amount(info.requirement),
                "min_contribution_sesh": None if minimum is None else json_amount(minimum),
                "activated_at": info.activated_at or None,
                "exit_requested_at": info.exit_requested_at or None,
                "unlock_time": info.unlock_time or None,
                "rewards_accrued_sesh": json_amount(info.accrued_rewards),
                "contributors": [
                    {"account": c.account, "stake_sesh": json_amount(c.stake),
                     "reserved_sesh": json_amount(c.reserved)}
                    for c in contributors
                ],
            }
        )  # fmt: skip
        return
    table = Table(title=f"node {node_id}", show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("status", state)
    for problem in warnings:
        table.add_row("warning", problem)
    table.add_row("operator", info.operator)
    table.add_row("fee", f"{info.fee_bps / 100:g} %")
    table.add_row("stake", f"{sesh(info.total_stake)} of {sesh(info.requirement)}")
    if minimum is not None:
        table.add_row("min contribution", sesh(minimum))
    table.add_row("activated", when(info.activated_at))
    table.add_row("exit requested", when(info.exit_requested_at))
    table.add_row("unlock", when(info.unlock_time))
    table.add_row("rewards accrued", sesh(info.accrued_rewards))
    for contributor in contributors:
        text = sesh(contributor.stake)
        if contributor.reserved:
            text += f" (reserved {sesh(contributor.reserved)})"
        table.add_row(f"contributor {contributor.account}", text)
    console.print(table)


@read_command(node, "list")
@click.option("--open", "only_open", is_flag=True, help="Only nodes open for contributions.")
@json_option
def list_(network, account_alias, manifest_path, deployments_dir, only_open):
    """List the registered nodes: status, operator, fee, how full the stake is, the minimum
    a new contributor brings and the slots reserved for named delegators.

    Example: sesh node list --open
    """
    from sesh.contracts.staking import NodeStatus

    session = Session(network, account_alias, manifest_path, deployments_dir)
    staking = session.suite.staking
    rows = []
    for registration in staking.registrations(session.suite.block_of("ServiceNodeStaking")):
        info = staking.node(registration.node_id)
        if only_open and info.status != NodeStatus.OPEN:
            continue
        is_open = info.status == NodeStatus.OPEN
        parts = staking.contributors(registration.node_id) if is_open else []
        rows.append(
            {
                "node_id": info.node_id,
                "status": info.status.name.lower(),
                "operator": info.operator,
                "endpoint": registration.endpoint,
                "fee_percent": str(info.fee_bps / 100),
                "stake_sesh": json_amount(info.total_stake),
                "requirement_sesh": json_amount(info.requirement),
                "filled_percent": str(round(info.total_stake * 100 / info.requirement, 2)),
                "min_contribution_sesh": json_amount(staking.min_contribution(info.node_id))
                if is_open
                else None,
                "reserved_slots": [
                    {"account": c.account, "reserved_sesh": json_amount(c.reserved)}
                    for c in parts
                    if c.reserved and not c.stake
                ],
            }
        )
    if want_json():
        print_json({"nodes": rows})
        return
    title = "nodes open for contributions" if only_open else "nodes"
    table = Table(title=title)
    for column in ("id", "status", "fee", "filled", "min contribution", "reserved", "operator",
                   "endpoint"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for row in rows:
        minimum = row["min_contribution_sesh"]
        table.add_row(
            str(row["node_id"]),
            row["status"],
            f"{float(row['fee_percent']):g} %",
            f"{float(row['filled_percent']):g} % of {sesh(Decimal(row['requirement_sesh']))}",
            sesh(Decimal(minimum)) if minimum is not None else "-",
            ", ".join(
                f"{r['account']} ({sesh(Decimal(r['reserved_sesh']))})"
                for r in row["reserved_slots"]
            )
            or "-",  # fmt: skip
            row["operator"],
            row["endpoint"],
        )
    console.print(table)
    if not rows:
        console.print("no node is open for contributions" if only_open else "no node yet")
