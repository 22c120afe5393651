"""`sesh migrate tokens …`: the old chain's balances to SESH (docs/migration.md).

`build` turns a snapshot CSV (old address, new address, amount in SESH) into a Merkle
tree: prints the root and the total, writes every holder's proof to a JSON file, and
refuses a bad row naming its line. `publish` deploys the MerkleClaim for that root and
funds it with exactly the total (recorded in the deployment manifest). `claim` submits a
holder's entry from the proofs file. `convert` swaps old tokens at the TokenConverter.

`sesh migrate` is shared with the node migration: `register(main)` attaches `tokens` to
the `migrate` group, creating the group if no other module has.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from sesh.cli.common import (
    ADDRESS,
    Session,
    chain_command,
    console,
    dry_run_option,
    send,
    sesh,
    when,
)
from sesh.rules.merkle_claims import SnapshotError, parse_snapshot_csv, verify_proof
from sesh.rules.units import from_units


@click.group("tokens")
def tokens() -> None:
    """Old-chain balances to SESH: the Merkle claim of the snapshot, and the converter.

    Example: sesh migrate tokens build snapshot.csv --proofs proofs.json
    """


def _snapshot(csv_path: Path):
    try:
        return parse_snapshot_csv(csv_path.read_text(encoding="utf-8"))
    except SnapshotError as exc:
        raise click.ClickException(f"{csv_path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {csv_path}: {exc}") from None


@tokens.command("build")
@click.argument("csv_path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--proofs",
    "proofs_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write every holder's claim and proof (JSON).",
)
def build(csv_path: Path, proofs_path: Path) -> None:
    """Build the Merkle tree of a snapshot CSV; print its root and total; write the proofs.

    Rows: old_address,new_address,amount (SESH, up to 9 decimals); an optional header.
    Every proof is checked against the root before the file is written.

    Example: sesh migrate tokens build snapshot.csv --proofs proofs.json
    """
    snapshot = _snapshot(csv_path)
    document = snapshot.to_json()
    for entry in snapshot.entries:
        assert verify_proof(snapshot.root, entry.leaf, snapshot.proof(entry.index))
    proofs_path.write_text(json.dumps(document, indent=1) + "\n")
    console.print(f"entries: {len(snapshot.entries)}")
    console.print(f"total: {sesh(from_units(snapshot.total))} ({snapshot.total} units)")
    console.print(f"merkle root: 0x{snapshot.root.hex()}")
    console.print(f"proofs written to {proofs_path}")


def _deadline(text: str) -> int:
    """A unix time, or a UTC date (YYYY-MM-DD)."""
    if text.isdigit():
        return int(text)
    try:
        return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a unix time nor a YYYY-MM-DD date", param_hint="--deadline"
        ) from None


@chain_command(tokens, "publish")
@click.argument("csv_path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--deadline", required=True, help="End of the claim window: unix time or YYYY-MM-DD.")
@click.option(
    "--sweep-to",
    type=ADDRESS,
    help="Where what is left goes after the deadline (default: the reward pool).",
)
@dry_run_option
def publish(
    network, account_alias, manifest_path, deployments_dir, csv_path, deadline, sweep_to, dry_run
):
    """Deploy the MerkleClaim of a snapshot and fund it with exactly its total.

    Recorded in the deployment manifest as MerkleClaim; a re-run resumes. --dry-run
    prints the plan and sends nothing.

    Example: sesh migrate tokens publish snapshot.csv --deadline 2027-06-30 --dry-run
    """
    from sesh.deploy.migration import MERKLE_CLAIM

    snapshot = _snapshot(csv_path)
    session = Session(network, account_alias, manifest_path, deployments_dir)
    suite = session.suite
    end = _deadline(deadline)
    receiver = sweep_to or suite.pool.address
    console.print(f"merkle root: 0x{snapshot.root.hex()}")
    console.print(f"total: {sesh(from_units(snapshot.total))} for {len(snapshot.entries)} entries")
    console.print(f"claims until {when(end)}, then what is left goes to {receiver}")
    from ape import chain

    # The chain's clock, not this machine's: a devnet's may run days ahead.
    if end < chain.blocks.head.timestamp + 86_400:
        raise click.ClickException("the deadline must be at least a day ahead of the chain")
    held = suite.token.balance_units(session.address_or_account(None))
    if held < snapshot.total:
        raise click.ClickException(
            f"the account holds {sesh(from_units(held))}, the snapshot needs "
            f"{sesh(from_units(snapshot.total))}; nothing sent"
        )
    if dry_run:
        console.print("dry run: would deploy MerkleClaim, approve and fund it (nothing sent)")
        return
    from sesh.deploy.steps import Deployer

    deployer = Deployer(session.account, suite.manifest, echo=console.print)
    claim = deployer.contract(
        MERKLE_CLAIM,
        MERKLE_CLAIM,
        suite.token.address,
        snapshot.root,
        snapshot.total,
        end,
        receiver,
    )
    suite.manifest.save()
    token = suite.token.contract
    if not claim.funded():
        if token.allowance(session.account, claim) < snapshot.total:
            token.approve(claim, snapshot.total, sender=session.account)
        claim.fund(sender=session.account)
    console.print(f"MerkleClaim {claim.address}: funded with {sesh(from_units(snapshot.total))}")


def _entry(proofs_path: Path, index: int | None, old_address: str | None) -> dict:
    try:
        document = json.loads(proofs_path.read_text())
        claims = document["claims"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{proofs_path} is not a proofs file: {exc}") from None
    for entry in claims:
        if (index is not None and entry.get("index") == index) or (
            old_address is not None and entry.get("old_address") == old_address
        ):
            return entry
    raise click.ClickException(f"no entry for {old_address or index} in {proofs_path}")


@chain_command(tokens, "claim")
@click.option(
    "--proofs",
    "proofs_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The proofs file `build` wrote.",
)
@click.option("--index", type=click.IntRange(0), help="The entry's index.")
@click.option("--old-address", help="Or the entry's old-chain address.")
@dry_run_option
def claim(
    network, account_alias, manifest_path, deployments_dir, proofs_path, index, old_address, dry_run
):
    """Claim a snapshot entry: the SESH goes to the address the holder registered.

    Anyone may submit it (a relayer, a friend): the entry names who is paid.

    Example: sesh migrate tokens claim --proofs proofs.json --old-address LxXX…
    """
    if (index is None) == (old_address is None):
        raise click.UsageError("give --index or --old-address")
    entry = _entry(proofs_path, index, old_address)
    session = Session(network, account_alias, manifest_path, deployments_dir)
    claims = session.suite.merkle_claims
    if claims.is_claimed(int(entry["index"])):
        raise click.ClickException(f"entry {entry['index']} has already been claimed")
    amount = from_units(int(entry["amount"]))
    send(
        claims.claim(entry, session.account),
        dry_run,
        f"claim {sesh(amount)} for {entry['claimant']}",
    )


@chain_command(tokens, "convert")
@click.argument("old_units", type=click.IntRange(1))
@click.option("--to", "receiver", type=ADDRESS, help="Who gets the SESH (default: you).")
@dry_run_option
def convert(network, account_alias, manifest_path, deployments_dir, old_units, receiver, dry_run):
    """Convert OLD_UNITS of the old token (its base units) to SESH at the converter's rate.

    Approves the converter for the old token first when the allowance is short.

    Example: sesh migrate tokens convert 1000000000 --dry-run
    """
    from sesh.contracts import abis

    session = Session(network, account_alias, manifest_path, deployments_dir)
    converter = session.suite.converter
    who = str(session.account.address)
    taken, paid = converter.preview(old_units)
    numerator, denominator = converter.rate()
    console.print(
        f"rate {numerator}/{denominator} SESH units per old unit: takes {taken} old units, "
        f"pays {sesh(from_units(paid))}"
    )
    old = abis.instance("SessionToken", converter.old_token())  # any ERC-20 ABI
    if int(old.allowance(who, converter.address)) < taken:
        from sesh.contracts.base import Tx

        send(
            Tx(old, "approve", (converter.address, taken), session.account),
            dry_run,
            f"approve {taken} old units to the converter",
        )
        if dry_run:
            console.print("(the conversion itself needs that approval first)")
            return
    send(converter.convert(old_units, receiver or who, session.account), dry_run, "convert")


def register(main: click.Group) -> None:
    """Attach `tokens` to `sesh migrate` (shared with the node migration)."""
    migrate = main.commands.get("migrate")
    if migrate is None:

        @click.group("migrate")
        def migrate() -> None:
            """The move from the old chain: nodes, token balances, allocations.

            Example: sesh migrate tokens build snapshot.csv --proofs proofs.json
            """

        main.add_command(migrate)
    migrate.add_command(tokens)
