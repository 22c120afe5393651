"""`sesh names available|register|renew|set|resolve`: Session names (SNS)."""

from __future__ import annotations

import time

import click

from sesh.cli.common import (
    ADDRESS,
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

YEAR = 365 * 86_400


@click.group()
def names() -> None:
    """Session names: human names for Session IDs, as NFTs paid in SESH.

    Example: sesh names available alice
    """


def _duration(years: int) -> int:
    if years < 1:
        raise click.BadParameter("at least 1 year")
    return years * YEAR


def _wait_for_chain_time(target: int) -> None:
    """Wait (sleeping) until the chain's clock reaches `target`."""
    from ape import chain

    while chain.pending_timestamp < target:
        time.sleep(min(5, max(1, target - chain.pending_timestamp)))


@read_command(names, "available")
@click.argument("name")
@click.option("--years", type=int, default=1, show_default=True)
@json_option
def available(network, account_alias, manifest_path, deployments_dir, name, years):
    """Say whether NAME can be registered, and its price now.

    Example: sesh names available alice --years 2
    """
    suite = Session(network, account_alias, manifest_path, deployments_dir).suite
    name = suite.names.normalize(name)
    if suite.names.available(name):
        price = suite.names.register_price(name, _duration(years))
        if want_json():
            print_json({"name": name, "available": True, "years": years,
                        "price_sesh": json_amount(price)})  # fmt: skip
            return
        console.print(f"{name}: available, {sesh(price)} for {years} year(s)")
    else:
        expiry = suite.names.expiry(name)
        owner = suite.names.owner(name)
        if want_json():
            print_json({"name": name, "available": False, "owner": str(owner), "expiry": expiry})
            return
        console.print(f"{name}: taken (owner {owner}, expires {when(expiry)})")


@chain_command(names, "register")
@click.argument("name")
@click.option("--years", type=int, default=1, show_default=True)
@click.option("--owner", type=ADDRESS, help="Who receives the name (default: the account).")
@click.option("--max-cost", help="The most SESH to pay (default: the price now).")
@dry_run_option
def register(network, account_alias, manifest_path, deployments_dir, name, years, owner,
             max_cost, dry_run):  # fmt: skip
    """Register NAME: commit, wait a minute (so no one can front-run it), register.

    Pays in SESH with a permit when the allowance is short.

    Example: sesh names register alice --years 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    sns = session.suite.names
    duration = _duration(years)
    payer = session.address_or_account(None)
    commitment = sns.commitment(name, session.address_or_account(owner), duration, payer)
    limit = parse_amount(max_cost) if max_cost else None
    commit_tx = sns.commit(commitment, session.account)
    if dry_run:
        send(commit_tx, True, f"commit to {commitment.name!r}")
        price = limit or sns.register_price(commitment.name, duration)
        console.print(f"then, a minute later: register {commitment.name!r} paying {sesh(price)}")
        return
    send(commit_tx, False, f"commit to {commitment.name!r}")
    from sesh.rules.names import MIN_COMMITMENT_AGE

    console.print(f"waiting {MIN_COMMITMENT_AGE} s before revealing the name …")
    _wait_for_chain_time(sns.commitment_time(commitment) + MIN_COMMITMENT_AGE + 1)
    send(sns.register(commitment, duration, limit, session.account), False,
         f"register {commitment.name!r}")  # fmt: skip
    console.print(f"{commitment.name}: yours until {when(sns.expiry(commitment.name))}")


@chain_command(names, "renew")
@click.argument("name")
@click.option("--years", type=int, default=1, show_default=True)
@click.option("--max-cost", help="The most SESH to pay (default: the price now).")
@dry_run_option
def renew(network, account_alias, manifest_path, deployments_dir, name, years, max_cost, dry_run):
    """Extend NAME (anyone may pay for any name).

    Example: sesh names renew alice --years 1
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    sns = session.suite.names
    limit = parse_amount(max_cost) if max_cost else None
    tx = sns.renew(name, _duration(years), limit, session.account)
    if send(tx, dry_run, f"renew {name!r}"):
        console.print(f"{sns.normalize(name)}: expires {when(sns.expiry(name))}")


@chain_command(names, "set")
@click.argument("name")
@click.option("--session-id", required=True, help="The Session ID NAME points at (05…).")
@click.option("--wallet", type=ADDRESS, default=None, help="A wallet address record.")
@dry_run_option
def set_(network, account_alias, manifest_path, deployments_dir, name, session_id, wallet,
         dry_run):  # fmt: skip
    """Point NAME at a Session ID (owner only).

    Example: sesh names set alice --session-id 05<64 hex characters of the X25519 key>
    """
    from sesh.contracts.names import ZERO_ADDRESS, parse_session_id

    session = Session(network, account_alias, manifest_path, deployments_dir)
    sns = session.suite.names
    tx = sns.set_records(
        name,
        session.account,
        session_id=parse_session_id(session_id),
        wallet=wallet or ZERO_ADDRESS,
    )
    send(tx, dry_run, f"set {sns.normalize(name)!r} -> {session_id}")


@read_command(names, "resolve")
@click.argument("name")
@json_option
def resolve(network, account_alias, manifest_path, deployments_dir, name):
    """Print the Session ID NAME points at.

    Example: sesh names resolve alice
    """
    from sesh.contracts import ContractError

    sns = Session(network, account_alias, manifest_path, deployments_dir).suite.names
    session_id = sns.resolve(name)
    if not session_id:
        raise ContractError(f"sns: {sns.normalize(name)!r} resolves to nothing")
    if want_json():
        print_json({"name": sns.normalize(name), "session_id": session_id.hex()})
        return
    console.print(session_id.hex())
