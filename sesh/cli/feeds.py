"""`sesh feeds show|push`: the testnet SESH/USD feed a keeper keeps fresh.

Chainlink publishes no SESH/USD feed on Arbitrum Sepolia. A testnet deployment with
`feeds.sesh_usd = "keeper"` deploys a `KeeperAggregator` whose answer only its keeper
pushes; names and Pro refuse a price older than the heartbeat (a day by default), so the
keeper pushes more often than that: once, or in a loop with `--every`.
"""

from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation

import click

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

FEED = "SeshUsdFeed"
KEEPER_FEED_TYPE = "KeeperAggregator"
FEED_DECIMALS = 8


@click.group()
def feeds() -> None:
    """The testnet SESH/USD feed: show it, push a price (keepers).

    Example: sesh feeds push --price 0.25 --every 3600 --account keeper
    """


def _feed(session: Session):
    """The deployment's keeper feed, refused with what it is when it is not one."""
    from sesh.contracts import ContractError

    entry = session.suite.manifest.contracts.get(FEED)
    if entry is None:
        raise ContractError(f"no {FEED} in {session.suite.manifest.path}")
    if entry.contract_type != KEEPER_FEED_TYPE:
        raise ContractError(
            f"the SESH/USD feed of this deployment is a {entry.contract_type} at "
            f"{entry.address}, not a keeper feed: nothing to push (`feeds.sesh_usd = "
            '"keeper"` deploys one on a testnet)'
        )
    return session.suite.contract(FEED)


def _usd(units: int) -> str:
    return f"{Decimal(units) / 10**FEED_DECIMALS:f}"


def _price(text: str) -> int:
    try:
        value = Decimal(text) * 10**FEED_DECIMALS
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a price in USD", param_hint="--price") from None
    if not value.is_finite() or value != value.to_integral_value() or value <= 0:
        raise click.BadParameter(
            f"{text!r} must be above 0 USD with at most {FEED_DECIMALS} decimals",
            param_hint="--price",
        )
    if value >= 2**255:
        raise click.BadParameter(f"{text!r} is too large", param_hint="--price")
    return int(value)


@read_command(feeds, "show")
@json_option
def show(network, account_alias, manifest_path, deployments_dir):
    """Show the keeper feed: price, when it was pushed, its keeper, and until when the
    contracts accept it.

    Example: sesh feeds show
    """
    session = Session(network, account_alias, manifest_path, deployments_dir)
    feed = _feed(session)
    round_id, answer, _started, updated_at, _answered = feed.latestRoundData()
    heartbeat = int(session.suite.names.contract.sesh_usd_heartbeat())
    keeper = str(feed.keeper())
    if want_json():
        print_json(
            {
                "feed": str(feed.address),
                "keeper": keeper,
                "usd": _usd(int(answer)),
                "round": int(round_id),
                "updated_at": int(updated_at),
                "heartbeat": heartbeat,
                "stale_after": int(updated_at) + heartbeat,
            }
        )
        return
    console.print(f"SESH/USD {_usd(int(answer))} USD (round {int(round_id)})")
    console.print(f"pushed   {when(int(updated_at))} by keeper {keeper}")
    console.print(f"stale    after {when(int(updated_at) + heartbeat)} (heartbeat {heartbeat} s)")


@chain_command(feeds, "push")
@click.option("--price", help="SESH in USD, e.g. 0.25 (default: the feed's current price).")
@click.option(
    "--every",
    type=click.IntRange(1, None),
    help="Push again every this many seconds until stopped (Ctrl-C); keep it well under "
    "the heartbeat.",
)
@click.option(
    "--rounds",
    type=click.IntRange(1, None),
    help="Stop after this many pushes (default: 1, or no limit with --every).",
)
@dry_run_option
def push(network, account_alias, manifest_path, deployments_dir, price, every, rounds, dry_run):
    """Push a SESH/USD price to the testnet keeper feed (only its keeper may), so names
    and Pro keep a fresh price. Refused on any feed but a keeper feed.

    Example: sesh feeds push --price 0.25 --every 3600 --account keeper
    """
    from sesh.contracts import ContractError, Tx

    answer = _price(price) if price is not None else None
    session = Session(network, account_alias, manifest_path, deployments_dir)
    feed = _feed(session)
    keeper = str(feed.keeper())
    who = session.address_or_account(None)
    if keeper.lower() != who.lower():
        raise ContractError(f"feed: {who} is not the feed's keeper ({keeper}); nothing sent")
    limit = rounds if rounds is not None else (None if every else 1)
    done = 0
    try:
        while True:
            value = answer if answer is not None else int(feed.answer())
            send(
                Tx(feed, "push", (value,), session.account),
                dry_run,
                f"push SESH/USD {_usd(value)} USD",
            )
            done += 1
            if dry_run or (limit is not None and done >= limit) or not every:
                break
            console.print(f"next push in {every} s (Ctrl-C stops)")
            time.sleep(every)
    except KeyboardInterrupt:
        console.print(f"stopped after {done} push(es)")
