"""`sesh keys ...`: a service node's Ed25519 and BLS keys, in an encrypted keystore."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sesh.cli.common import console

# Outside any repository, so a key never ends up in a commit by accident.
DEFAULT_KEYSTORE = Path("~/.sesh/node-keys.json")

keystore_option = click.option(
    "--keystore",
    "keystore_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_KEYSTORE,
    callback=lambda _ctx, _param, value: value.expanduser(),
    envvar="SESH_KEYSTORE",
    show_default=True,
    help="The node's encrypted keystore.",
)


def read_password(confirm: bool = False) -> str:
    """The keystore password: SESH_KEYSTORE_PASSWORD, or asked without echo."""
    from sesh.crypto.keystore import PASSWORD_ENV

    password = os.environ.get(PASSWORD_ENV)
    if password is not None:
        return password
    return click.prompt("Keystore password", hide_input=True, confirmation_prompt=confirm, err=True)


def open_node_keys(path: Path):
    """Decrypt the node keys of `path` (for signing; never printed)."""
    from sesh.crypto.keystore import KeystoreError, open_keys

    password = read_password()
    try:
        return open_keys(path, password)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A document that parses but lacks a field (`crypto`, `kdfparams` ...) or holds one
        # of the wrong shape: altered or truncated, not a keystore `sesh keys new` wrote.
        detail = f"field {exc.args[0]!r} missing" if isinstance(exc, KeyError) else str(exc)
        raise click.ClickException(
            f"{path} is not a complete sesh node keystore ({detail}); restore it from your backup"
        ) from None


@click.group()
def keys() -> None:
    """A service node's keys: Ed25519 (its identity) and BLS (its network votes).

    Example: sesh keys new
    """


@keys.command("new")
@keystore_option
def new(keystore_path: Path) -> None:
    """Generate node keys into a new encrypted keystore and print the public keys.

    The password comes from SESH_KEYSTORE_PASSWORD or is asked for twice. Secret keys are
    never printed; keep the file and its password safe.

    Example: sesh keys new
    """
    from sesh.crypto.keystore import KeystoreError, create
    from sesh.crypto.node_keys import NodeKeys

    try:
        public = create(keystore_path, NodeKeys.generate(), read_password(confirm=True))
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    _print_public(public, "created")


@keys.command("show")
@keystore_option
@click.option("--check", is_flag=True, help="Also decrypt it, proving the password opens it.")
def show(keystore_path: Path, check: bool) -> None:
    """Print a keystore's node id and BLS public key (no password needed).

    Example: sesh keys show
    """
    from sesh.crypto.keystore import KeystoreError, public_keys

    try:
        public = public_keys(keystore_path)
    except KeystoreError as exc:
        raise click.ClickException(str(exc)) from None
    if check:
        open_node_keys(keystore_path)
    _print_public(public, "opened with its password" if check else "")


def _print_public(public, state: str) -> None:
    console.print(f"keystore        {public.path}" + (f"  ({state})" if state else ""))
    console.print(f"node id         {public.node_id}")
    console.print(f"ed25519 pubkey  {public.ed25519_pubkey}")
    console.print(f"bls pubkey      {public.bls_pubkey}")
