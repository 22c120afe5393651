"""Choosing the account that signs: Ape accounts only, never a key read from a file."""

from __future__ import annotations

from typing import Any

import click

# ape-config.yaml's `test: number_of_accounts`.
TEST_ACCOUNTS = 10
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


def address_without_ape(alias: str | None, network_is_local: bool) -> str | None:
    """The address `resolve_account(alias, ...)` would give, found without loading Ape's
    accounts (a read command's), or None when only Ape can say (it then explains). The
    same refusals as `resolve_account` for what is wrong whoever answers."""
    from sesh.contracts.rpc import dev_account_address, keyfile_address

    if alias is None or alias == "":
        if network_is_local:
            return dev_account_address(0)
        raise click.ClickException(f"no account given: pass --account <alias> ({HOW_TO_ADD})")
    if alias.upper().startswith("TEST::"):
        if not network_is_local:
            return None
        try:
            index = int(alias.split("::", 1)[1])
        except ValueError:
            raise click.ClickException(f"no test account {alias}") from None
        if index < 0:
            raise click.ClickException(f"no test account {alias}")
        # Beyond the configured accounts, Ape's own answer stands.
        return dev_account_address(index) if index < TEST_ACCOUNTS else None
    return keyfile_address(alias)


def unlock_if_passphrase(account: Any, passphrase_file: Any = None) -> None:
    """Let a keyfile account sign without prompting when its passphrase is given: in
    `passphrase_file`, else in APE_ACCOUNTS_<alias>_PASSPHRASE (Ape's own variable). Without
    either, Ape asks at the first signature. A wrong passphrase is a one-line error."""
    import os
    from pathlib import Path

    alias = getattr(account, "alias", None)
    if alias is None or not hasattr(account, "set_autosign"):
        return  # a test account: nothing to unlock
    if passphrase_file is not None:
        try:
            passphrase = Path(passphrase_file).read_text().rstrip("\n")
        except OSError as exc:
            raise click.ClickException(
                f"cannot read passphrase file {passphrase_file}: {exc.strerror or exc}"
            ) from None
        source = str(passphrase_file)
    else:
        variable = f"APE_ACCOUNTS_{alias}_PASSPHRASE"
        passphrase = os.environ.get(variable)
        source = variable
    if not passphrase:
        return
    from ape.exceptions import AccountsError
    from ape.logging import LogLevel, logger

    level = logger.level
    logger.set_level(LogLevel.ERROR)  # Ape's "Danger! ... will now sign any transaction"
    try:
        account.set_autosign(True, passphrase=passphrase)
    except AccountsError:
        raise click.ClickException(
            f"the passphrase from {source} does not unlock account {alias!r}"
        ) from None
    finally:
        logger.set_level(level)
