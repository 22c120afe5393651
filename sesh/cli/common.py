"""What every chain command of the `sesh` CLI shares: network, account and manifest
options, dry runs, one-line errors, and amounts shown in SESH."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from ape.cli import network_option
from rich.console import Console
from rich.table import Table

from sesh.cli.support import ChainCommand

# The devnet (`make devnet`) unless SESH_NETWORK or --network says otherwise.
DEFAULT_NETWORK = "arbitrum:devnet:node"

console = Console(highlight=False, soft_wrap=True)


class SeshCommand(ChainCommand):
    """A chain command whose refusals (contract reverts, SDK checks, keystores,
    manifests) end as one `Error: ...` line."""

    def invoke(self, ctx: click.Context) -> Any:
        from ape.logging import LogLevel, logger

        from sesh.contracts import ContractError
        from sesh.crypto.keystore import KeystoreError
        from sesh.deploy.manifest import ManifestError

        # The command prints what it did (its transactions too); Ape's INFO lines
        # ("Connecting to …", "Confirmed …") would only repeat it.
        if logger.level < LogLevel.WARNING:
            logger.set_level(LogLevel.WARNING)
        try:
            return super().invoke(ctx)
        except (ContractError, KeystoreError, ManifestError, ValueError) as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None


class ReadCommand(click.Command):
    """A command that only reads the chain and signs nothing. Its `--network` is resolved
    to an RPC URL without Ape (`sesh.contracts.rpc.rpc_url`) and the contracts are read
    over plain JSON-RPC with the shipped ABIs: about 1 s per command instead of 3, as
    Ape's network parsing alone costs 2.4 s of CPU. A choice only Ape can resolve (another
    provider plugin) goes through Ape as before. Refusals end as one `Error: ...` line."""

    def invoke(self, ctx: click.Context) -> Any:
        from requests.exceptions import RequestException

        from sesh.contracts import ContractError
        from sesh.contracts.rpc import rpc_url
        from sesh.crypto.keystore import KeystoreError
        from sesh.deploy.manifest import ManifestError

        choice = str(ctx.params.get("network") or DEFAULT_NETWORK)
        target = rpc_url(choice)
        try:
            if target is not None:
                ctx.params["network"] = target
                return super().invoke(ctx)
            return self._invoke_through_ape(ctx, choice)
        except (ContractError, KeystoreError, ManifestError, ValueError) as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None
        except RequestException as exc:
            url = target.url if target is not None else choice
            raise click.ClickException(
                f"cannot reach the RPC node at {url} ({type(exc).__name__}); is the chain "
                "running, and is --network / SESH_NETWORK right?"
            ) from None

    def _invoke_through_ape(self, ctx: click.Context, choice: str) -> Any:
        from ape import networks
        from ape.exceptions import ApeException
        from ape.logging import LogLevel, logger

        from sesh.cli.support import explain_ape_error

        if logger.level < LogLevel.WARNING:
            logger.set_level(LogLevel.WARNING)
        try:
            with networks.parse_network_choice(choice) as provider:
                ctx.params["network"] = provider.network
                return super().invoke(ctx)
        except ApeException as exc:
            raise click.ClickException(explain_ape_error(exc, choice)) from None


def _deployment_options(f: Callable) -> Callable:
    """--manifest and --deployments-dir: where the deployment's addresses come from."""
    f = click.option(
        "--deployments-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("deployments"),
        envvar="SESH_DEPLOYMENTS_DIR",
        show_default=True,
        help="Where deployments/<chain_id>.json is looked up.",
    )(f)
    f = click.option(
        "--manifest",
        "manifest_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SESH_MANIFEST",
        help="A deployment manifest to use instead (refused if it is for another chain).",
    )(f)
    return f


def read_options(f: Callable) -> Callable:
    """The chain options of a read command: --network as a plain choice string (resolved
    by `ReadCommand`), --account (whose address is read), --manifest, --deployments-dir."""
    f = _deployment_options(f)
    f = click.option(
        "--account",
        "account_alias",
        metavar="ALIAS",
        envvar="SESH_ACCOUNT",
        help="Ape account alias whose address is read (TEST::<n> for test accounts on local "
        "chains).",
    )(f)
    f = click.option(
        "--network",
        default=lambda: os.environ.get("SESH_NETWORK", DEFAULT_NETWORK),
        show_default=DEFAULT_NETWORK,
        metavar="ECOSYSTEM:NETWORK:PROVIDER",
        help="The chain: ecosystem:network:node (its URI from ape-config.yaml) or "
        "ecosystem:network:<rpc-url>; env SESH_NETWORK.",
    )(f)
    return f


def read_command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable:
    """`@group.command` with ReadCommand and the read options."""

    def decorator(f: Callable) -> Callable:
        return group.command(name, cls=ReadCommand, **kwargs)(read_options(f))

    return decorator


def chain_options(f: Callable) -> Callable:
    """--network, --account, --manifest, --deployments-dir."""
    f = _deployment_options(f)
    f = click.option(
        "--account",
        "account_alias",
        metavar="ALIAS",
        envvar="SESH_ACCOUNT",
        help="Ape account alias that signs (TEST::<n> for test accounts on local chains).",
    )(f)
    f = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SESH_PASSPHRASE_FILE",
        expose_value=False,
        callback=_remember_passphrase_file,
        help="Unlock the --account with this file's text, without prompting (or set "
        "APE_ACCOUNTS_<alias>_PASSPHRASE, as Ape does).",
    )(f)
    f = network_option(default=os.environ.get("SESH_NETWORK", DEFAULT_NETWORK))(f)
    return f


def _remember_passphrase_file(ctx: click.Context, _param: Any, value: Path | None) -> None:
    ctx.meta["sesh.passphrase_file"] = value


def json_option(f: Callable) -> Callable:
    """--json: print the answer as one JSON document (amounts as decimal strings in SESH,
    `*_units` fields in base units) instead of tables."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=lambda ctx, _param, value: ctx.meta.__setitem__("sesh.json", value),
        help="Print JSON instead of tables.",
    )(f)


def want_json() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("sesh.json"))


def json_amount(value: Decimal) -> str:
    """A SESH amount for JSON: a plain decimal string with all 9 decimals ("0.000000000",
    never "0E-9"), exact where a float would not be."""
    return f"{Decimal(value):.9f}"


def print_json(document: Any) -> None:
    import json

    click.echo(json.dumps(document, indent=2, default=str))


def dry_run_option(f: Callable) -> Callable:
    return click.option(
        "--dry-run", is_flag=True, help="Print the transaction and simulate it; send nothing."
    )(f)


def chain_command(group: click.Group, name: str | None = None, **kwargs: Any) -> Callable:
    """`@group.command` with SeshCommand and the chain options."""

    def decorator(f: Callable) -> Callable:
        return group.command(name, cls=SeshCommand, **kwargs)(chain_options(f))

    return decorator


class Session:
    """The connected chain, the suite of its manifest and the signing account."""

    def __init__(self, network: Any, account_alias: str | None, manifest_path, deployments_dir):
        from sesh.contracts import Suite
        from sesh.contracts.rpc import ReadNetwork, web3_for

        self.network = network
        self.account_alias = account_alias
        # A read command's network resolved without Ape: read over plain JSON-RPC.
        self.w3 = web3_for(network.url) if isinstance(network, ReadNetwork) else None
        self.suite = Suite.load(manifest_path, deployments_dir, w3=self.w3)
        self.suite.on_permit = lambda text: console.print(text)

    @property
    def is_local(self) -> bool:
        from sesh.deploy.steps import is_local_network

        return is_local_network(self.network.name)

    @functools.cached_property
    def _resolved(self) -> Any:
        from sesh.cli.accounts import resolve_account

        return resolve_account(self.account_alias, self.is_local)

    def eth_balance(self, address: str) -> int:
        if self.w3 is not None:
            return int(self.w3.eth.get_balance(address))
        from ape import chain

        return int(chain.provider.get_balance(address))

    @functools.cached_property
    def account(self) -> Any:
        """The account that signs, unlocked without prompts when a passphrase is given
        (--passphrase-file, APE_ACCOUNTS_<alias>_PASSPHRASE), and holding ETH for gas:
        checked before anything is signed."""
        from ape import chain

        from sesh.cli.accounts import unlock_if_passphrase
        from sesh.contracts.base import ContractError

        account = self._resolved
        meta = click.get_current_context(silent=True)
        unlock_if_passphrase(account, meta.meta.get("sesh.passphrase_file") if meta else None)
        held = int(chain.provider.get_balance(account.address))
        if held == 0:
            raise ContractError(
                f"{account.address} holds no ETH to pay for gas; fund it first (on Arbitrum "
                "Sepolia, from a faucet or bridged Sepolia ETH)"
            )
        return account

    def address_or_account(self, address: str | None) -> str:
        """`address` if given, else the signing account's (read without Ape where it can
        be: test accounts from the mnemonic, keyfile accounts from their JSON)."""
        if address:
            return address
        if self.w3 is not None:
            from sesh.cli.accounts import address_without_ape

            found = address_without_ape(self.account_alias, self.is_local)
            if found is not None:
                return found
        return str(self._resolved.address)


def send(tx: Any, dry_run: bool, what: str) -> Any:
    """Simulate `tx`, estimate its gas and cost against the sender's ETH, then send it
    (printing what it did) or, with --dry-run, print it and send nothing."""
    tx.simulate()
    cost = tx.cost()
    if dry_run:
        table = Table(title=f"dry run: {what}", show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for key, value in tx.describe().items():
            table.add_row(key, value)
        for note in tx.notes:
            table.add_row("note", note)
        table.add_row("gas", cost.describe())
        console.print(table)
        console.print("simulation: the transaction would succeed (nothing sent)")
        return None
    if hasattr(tx.sender, "set_autosign") and not str(tx.sender.alias).startswith("TEST::"):
        # A keyfile account: its wallet prompt shows the raw transaction (bytes, base
        # units); this line says the same in words first.
        console.print(f"{what}: {tx.describe()['call']} to {tx.describe()['to']}")
    console.print(f"{what}: {cost.describe()}")
    receipt = tx.send(cost.gas)
    console.print(f"{what}: done in transaction {receipt.txn_hash}")
    return receipt


def sesh(amount: Decimal) -> str:
    text = f"{amount:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} SESH"


def when(timestamp: int) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class AddressType(click.ParamType):
    """An EIP-55 checksummed address (sesh.contracts.inputs.check_address)."""

    name = "ADDRESS"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from sesh.contracts.base import ContractError
        from sesh.contracts.inputs import check_address

        try:
            return check_address(str(value), "address")
        except ContractError as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = AddressType()
# Node ids count up from 1 and are uint64 on chain.
NODE_ID = click.IntRange(1, 2**64 - 1)


def parse_amount(text: str) -> Decimal:
    from sesh.rules.units import from_units, to_units

    try:
        return from_units(to_units(text))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
