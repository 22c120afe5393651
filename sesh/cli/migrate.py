"""`sesh migrate`: moving the running network's nodes onto the staking contract
(docs/migration.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click

from sesh.cli.common import Session, chain_command, console, dry_run_option, sesh
from sesh.rules.units import UNIT


@click.group()
def migrate() -> None:
    """Move the running network: seed its nodes into the staking contract, then start.

    Example: sesh migrate nodes snapshot.json --dry-run
    """


@chain_command(migrate, "nodes")
@click.argument("snapshot", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", default=60, show_default=True, help="Nodes per transaction (1-100).")
@click.option("--no-start", is_flag=True, help="Seed only; `sesh migrate start` later.")
@dry_run_option
def nodes(
    network, account_alias, manifest_path, deployments_dir, snapshot, batch, no_start, dry_run
):
    """Check a snapshot of the old network, print the plan, seed it (resumably) and start.

    Every problem of every node is reported before anything is sent. Run the same
    command again after an interruption: it skips the nodes already on chain.

    Example: sesh migrate nodes snapshot.json --account owner
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    chain, the_plan = _plan(session, snapshot, batch, dry_run)
    from sesh.migrate import seeder

    if dry_run:
        seeder.run(chain, the_plan, dry_run=True, echo=console.print)
        console.print("dry run: nothing sent")
        return
    _check_funds(chain, the_plan)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("seeding"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("seed", total=len(the_plan.nodes), completed=the_plan.done)
        seeder.run(
            chain,
            the_plan,
            start=not no_start,
            echo=bar.console.print,
            on_batch=lambda seeded, _total: bar.update(task, completed=seeded),
        )


@chain_command(migrate, "start")
@dry_run_option
def start(network, account_alias, manifest_path, deployments_dir, dry_run):
    """Set the pool's beneficiary (if unset) and start the staking contract.

    Example: sesh migrate start --account owner
    """
    from sesh.migrate.ape_chain import ApeSeedingChain

    session = Session(network, account_alias, manifest_path, deployments_dir)
    chain = ApeSeedingChain(session.suite.manifest, session.account, echo=console.print)
    if not chain.seeding():
        raise click.ClickException("the staking contract has already started")
    if dry_run:
        console.print(f"would start with {chain.node_count()} seeded nodes (nothing sent)")
        return
    chain.start()
    console.print(f"started with {chain.node_count()} seeded nodes")


def _plan(session: Session, snapshot: Path, batch: int, dry_run: bool):
    from ape import chain as ape_chain

    from sesh.migrate import seeder
    from sesh.migrate.ape_chain import ApeSeedingChain
    from sesh.migrate.snapshot import SnapshotError, check_snapshot, read_snapshot

    manifest = session.suite.manifest
    account = session._resolved if dry_run else session.account
    chain = ApeSeedingChain(manifest, account, echo=console.print)
    requirement = chain.requirement()
    try:
        data = read_snapshot(snapshot)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"checking {len(data['service_node_states'])} nodes of {snapshot} ...")
    report = check_snapshot(data, ape_chain.chain_id, chain.staking.address, requirement)
    if not report.ok:
        for line in report.lines():
            console.print(f"[red]{line}[/red]")
        raise click.ClickException(
            f"{len({n for n, _ in report.problems})} node(s) refused; nothing was sent"
        )
    try:
        the_plan = seeder.plan(chain, report.nodes, batch)
    except (seeder.MigrationError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    total = len(the_plan.nodes)
    console.print(
        f"plan: {total} nodes ({the_plan.active} active, {total - the_plan.active} open), "
        f"{the_plan.done} already on chain; {len(the_plan.remaining)} batch(es) of up to "
        f"{batch}; SESH needed: {sesh(Decimal(the_plan.sesh_needed()) / UNIT)}"
    )
    return chain, the_plan


def _check_funds(chain, the_plan) -> None:
    needed = the_plan.sesh_needed()
    held = int(chain.token.balanceOf(chain.account.address))
    if held < needed:
        raise click.ClickException(
            f"the owner holds {held / UNIT} SESH, the seeding needs {needed / UNIT}: fund it first"
        )
