"""Choosing the account that signs: Ape accounts only, never a key read from a file."""

from __future__ import annotations

from typing import Any

import click

HOW_TO_ADD = (
    "list yours with `ape accounts list`, add one with `ape accounts import <alias>` "
    "or `ape accounts generate <alias>`"
)


def resolve_account(alias: str | None, network_is_local: bool) -> Any:
    """The Ape account for `alias`.

    On a local chain, no alias means the first test account and ``TEST::<n>`` picks
    another. On a live chain an alias is required. Every failure is a one-line
    `click.ClickException` that says what to do.
    """
    from ape import accounts

    if alias is None or alias == "":
        if network_is_local:
            return accounts.test_accounts[0]
        raise click.ClickException(f"no account given: pass --account <alias> ({HOW_TO_ADD})")

    if alias.upper().startswith("TEST::"):
        if not network_is_local:
            raise click.ClickException(
                f"{alias} is a test account and only exists on local chains; "
                f"pass --account <alias> ({HOW_TO_ADD})"
            )
        try:
            return accounts.test_accounts[int(alias.split("::", 1)[1])]
        except (ValueError, IndexError):
            raise click.ClickException(f"no test account {alias}") from None

    known = list(accounts.aliases)
    if alias not in known:
        listing = ", ".join(known) if known else "none yet"
        raise click.ClickException(f"no account named {alias!r} (known: {listing}); {HOW_TO_ADD}")
    return accounts.load(alias)
