"""`sesh pro plans|subscribe|status`: Session Pro, by Pro public key."""

from __future__ import annotations

import click
from rich.table import Table

from sesh.cli.common import (
    Session,
    chain_command,
    console,
    dry_run_option,
    json_option,
    print_json,
    read_command,
    send,
    want_json,
    when,
)
from sesh.rules.units import format_sesh, to_units


@click.group()
def pro() -> None:
    """Session Pro subscriptions, paid in SESH for any Pro public key.

    Example: sesh pro plans
    """


@read_command(pro, "plans")
@json_option
def plans(network, account_alias, manifest_path, deployments_dir):
    """List the plans with their price in USD and in SESH now.

    Example: sesh pro plans
    """
    from sesh.contracts import ContractError
    from sesh.rules.prices import USD

    suite = Session(network, account_alias, manifest_path, deployments_dir).suite
    table = Table(title="Session Pro plans")
    for column in ("plan", "days", "USD", "SESH now"):
        table.add_column(column)
    rows = []
    for plan in suite.pro.plans(suite.block_of("SessionPro")):
        try:
            units: int | None = suite.pro.quote(plan.plan_id)
            price, problem = format_sesh(units), None
        except ContractError as exc:
            units, problem = None, str(exc)
            price = f"unavailable: {exc}"
        rows.append({
            "plan": plan.plan_id, "days": plan.duration / 86_400,
            "usd": f"{plan.usd_price / USD:.2f}",
            "sesh_now": None if units is None else f"{units / 10**9:.9f}", "unavailable": problem,
        })  # fmt: skip
        table.add_row(
            str(plan.plan_id), f"{plan.duration / 86_400:g}", f"{plan.usd_price / USD:.2f}", price
        )
    if want_json():
        print_json({"plans": rows})
        return
    console.print(table)


@chain_command(pro, "subscribe")
@click.option("--pubkey", required=True, help="The Pro public key (64 hex characters).")
@click.option("--plan", "plan_id", type=int, required=True)
@click.option("--max-cost", help="The most SESH to pay (default: the price now).")
@dry_run_option
def subscribe(network, account_alias, manifest_path, deployments_dir, pubkey, plan_id, max_cost,
              dry_run):  # fmt: skip
    """Buy a plan for a Pro public key, paying in SESH (a permit when needed).

    Example: sesh pro subscribe --pubkey 9a9a…9a --plan 1
    """
    from sesh.contracts.pro import parse_pro_key

    session = Session(network, account_alias, manifest_path, deployments_dir)
    key = parse_pro_key(pubkey)
    limit = to_units(max_cost) if max_cost else None
    tx = session.suite.pro.subscribe(key, plan_id, session.account, limit)
    if send(tx, dry_run, f"subscribe {key.hex()[:16]}… to plan {plan_id}"):
        console.print(f"Pro until {when(session.suite.pro.expiry(key))}")


@read_command(pro, "status")
@click.option("--pubkey", required=True, help="The Pro public key (64 hex characters).")
@json_option
def status(network, account_alias, manifest_path, deployments_dir, pubkey):
    """Say whether a Pro public key has Pro, and until when.

    Example: sesh pro status --pubkey 9a9a…9a
    """
    from sesh.contracts.pro import parse_pro_key

    suite = Session(network, account_alias, manifest_path, deployments_dir).suite
    key = parse_pro_key(pubkey)
    if want_json():
        expiry = suite.pro.expiry(key)
        print_json({"pubkey": key.hex(), "pro": suite.pro.is_pro(key), "expiry": expiry or None})
        return
    if suite.pro.is_pro(key):
        console.print(f"Pro until {when(suite.pro.expiry(key))}")
    else:
        expiry = suite.pro.expiry(key)
        console.print("not Pro" + (f" (expired {when(expiry)})" if expiry else ""))
