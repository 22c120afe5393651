"""`sesh msg ...`: send and fetch messages through the network's onion routing.

A tool for operators and the devnet, not a messenger: the text is sealed to the
recipient's X25519 key (libsodium sealed box, the Session ID's key) and stored in their
swarm through a 3-hop onion path; `fetch` retrieves the account's messages (a signed
request) and opens those sealed for it. Account keys are key files holding a 32-byte
Ed25519 seed in hex, readable only by their owner (`sesh msg id --new`).
"""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import click

from sesh.protocol.onion import AES_GCM, XCHACHA20

DEFAULT_TTL = 14 * 86_400


def _keys(key_file: Path):
    from sesh.crypto.key_files import IdentityError, read_seed
    from sesh.protocol.accounts import AccountKeys

    try:
        return AccountKeys.from_seed(read_seed(key_file))
    except IdentityError as exc:
        raise click.ClickException(str(exc)) from None


def _run(coro):
    from sesh.client.onion_client import ClientError

    try:
        return asyncio.run(coro)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


node_option = click.option(
    "--node",
    "nodes",
    multiple=True,
    required=True,
    help="URL of a node's API to learn the network from (repeatable), e.g. http://127.0.0.1:22021.",
)
cipher_option = click.option(
    "--cipher",
    type=click.Choice([XCHACHA20, AES_GCM]),
    default=XCHACHA20,
    show_default=True,
    help="Onion layer cipher.",
)


@click.group()
def msg() -> None:
    """Send and fetch messages through onion requests.

    Example: sesh msg send --node http://127.0.0.1:22021 --to 05ab... "hello"
    """


@msg.command("id")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The account's key file (Ed25519 seed, hex, mode 0600).",
)
@click.option("--new", is_flag=True, help="Create the key file with a fresh key first.")
def account_id(key_file: Path, new: bool) -> None:
    """Print the Session ID of an account key file.

    Example: sesh msg id --key-file me.key --new
    """
    from sesh.crypto.key_files import IdentityError, write_key_file

    if new:
        try:
            write_key_file(key_file, os.urandom(32))
        except IdentityError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(_keys(key_file).session_id)


@msg.command()
@node_option
@click.option("--to", "recipient", required=True, help="The recipient's Session ID (05...).")
@click.option("--ttl", type=click.IntRange(10, 14 * 86_400), default=DEFAULT_TTL, show_default=True,
              help="Seconds the message waits in the swarm.")  # fmt: skip
@cipher_option
@click.argument("text")
def send(nodes: tuple[str, ...], recipient: str, ttl: int, cipher: str, text: str) -> None:
    """Seal TEXT for a Session ID and store it in its swarm.

    Example: sesh msg send --node http://127.0.0.1:22021 --to 05ab... "hello"
    """
    from nacl.bindings import crypto_box_seal

    from sesh.client.onion_client import ClientError, OnionClient, account_bytes

    try:
        account = account_bytes(recipient)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None

    async def go():
        async with OnionClient(list(nodes), enc_type=cipher) as client:
            await client.refresh()
            return await client.store(
                recipient, crypto_box_seal(text.encode(), account[1:]), ttl * 1000
            )

    answer = _run(go())
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise click.ClickException(f"store refused ({answer.status}): {answer.body}")
    swarm = answer.body.get("swarm", {})
    stored = sum(1 for r in swarm.values() if "hash" in r)
    click.echo(f"stored {answer.body.get('hash')} on {stored} of {len(swarm)} swarm members")
    if stored == 0:
        raise click.ClickException("no swarm member stored the message")


@msg.command()
@node_option
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The account's key file.",
)
@cipher_option
def fetch(nodes: tuple[str, ...], key_file: Path, cipher: str) -> None:
    """Retrieve the account's messages and print those sealed for it.

    Example: sesh msg fetch --node http://127.0.0.1:22021 --key-file me.key
    """
    from nacl.bindings import crypto_box_seal_open
    from nacl.exceptions import CryptoError

    from sesh.client.onion_client import OnionClient

    keys = _keys(key_file)

    async def go():
        async with OnionClient(list(nodes), enc_type=cipher) as client:
            await client.refresh()
            return await client.retrieve(keys)

    answer = _run(go())
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise click.ClickException(f"retrieve refused ({answer.status}): {answer.body}")
    messages = answer.body.get("messages", [])
    click.echo(f"{len(messages)} message(s) for {keys.session_id}")
    for message in messages:
        data = base64.b64decode(message["data"])
        try:
            text = crypto_box_seal_open(data, keys.x25519_pubkey, keys.x25519_secret).decode(
                "utf-8", "replace"
            )
        except CryptoError:
            text = f"<{len(data)} bytes not sealed for this key>"
        click.echo(f"{message['hash']}  {text}")
