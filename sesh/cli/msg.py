"""`sesh msg ...`: send and fetch messages through the network's onion routing.

A tool for operators and the devnet, not a messenger: the text is sealed to the
recipient's X25519 key (libsodium sealed box, the Session ID's key) and stored in their
swarm through a 3-hop onion path; `fetch` retrieves the account's messages (a signed
request) and opens those sealed for it. Account keys are key files holding a 32-byte
Ed25519 seed in hex, readable only by their owner (`sesh msg id --new`).

`send --attach FILE` encrypts the file as Session does, uploads it to the file server
through another 3-hop path and sends a message carrying its pointer and key; `fetch
--save-dir DIR` downloads, checks and decrypts the attachments of the messages it opens.
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
file_server_options = [
    click.option(
        "--file-server",
        default=None,
        help="The file server's URL for attachments, e.g. http://127.0.0.1:22030.",
    ),
    click.option(
        "--file-server-key",
        default=None,
        help="The file server's X25519 public key (hex; `sesh fileserver key`).",
    ),
]


def file_server_option(function):
    for option in reversed(file_server_options):
        function = option(function)
    return function


def _file_server(url: str | None, key: str | None):
    from sesh.client.onion_client import ClientError
    from sesh.client.servers import parse_server

    if url is None or key is None:
        raise click.ClickException("attachments need --file-server and --file-server-key")
    try:
        return parse_server(url, key)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


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
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file to send with the text (repeatable; needs --file-server).",
)
@file_server_option
@click.argument("text")
def send(
    nodes: tuple[str, ...],
    recipient: str,
    ttl: int,
    cipher: str,
    attachments: tuple[Path, ...],
    file_server: str | None,
    file_server_key: str | None,
    text: str,
) -> None:
    """Seal TEXT (and any attachments) for a Session ID and store it in its swarm.

    Example: sesh msg send --node http://127.0.0.1:22021 --to 05ab... "hello"

    Example: sesh msg send --node http://127.0.0.1:22021 --to 05ab... --attach note.wav
    --file-server http://127.0.0.1:22030 --file-server-key 9f... "listen"
    """
    import mimetypes

    from nacl.bindings import crypto_box_seal

    from sesh.client.files import upload_attachment
    from sesh.client.onion_client import ClientError, OnionClient, account_bytes
    from sesh.protocol.attachments import encode_message

    try:
        account = account_bytes(recipient)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None
    server = _file_server(file_server, file_server_key) if attachments else None

    async def go():
        async with OnionClient(list(nodes), enc_type=cipher) as client:
            await client.refresh()
            pointers = []
            for path in attachments:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                pointer = await upload_attachment(
                    client, server, path.read_bytes(), path.name, kind
                )
                click.echo(f"uploaded {path.name} ({pointer.size} bytes) as {pointer.url}")
                pointers.append(pointer)
            plaintext = encode_message(text, pointers)
            return await client.store(
                recipient, crypto_box_seal(plaintext, account[1:]), ttl * 1000
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
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Download, check and decrypt attachments into this directory (needs --file-server).",
)
@file_server_option
def fetch(
    nodes: tuple[str, ...],
    key_file: Path,
    cipher: str,
    save_dir: Path | None,
    file_server: str | None,
    file_server_key: str | None,
) -> None:
    """Retrieve the account's messages and print those sealed for it.

    Example: sesh msg fetch --node http://127.0.0.1:22021 --key-file me.key

    Example: sesh msg fetch --node http://127.0.0.1:22021 --key-file me.key --save-dir in
    --file-server http://127.0.0.1:22030 --file-server-key 9f...
    """
    from nacl.bindings import crypto_box_seal_open
    from nacl.exceptions import CryptoError

    from sesh.client.files import download_attachment
    from sesh.client.onion_client import OnionClient
    from sesh.protocol.attachments import AttachmentError, decode_message

    keys = _keys(key_file)
    server = _file_server(file_server, file_server_key) if save_dir is not None else None

    async def go():
        async with OnionClient(list(nodes), enc_type=cipher) as client:
            await client.refresh()
            answer = await client.retrieve(keys)
            if answer.status != 200 or not isinstance(answer.body, dict):
                raise click.ClickException(f"retrieve refused ({answer.status}): {answer.body}")
            messages = answer.body.get("messages", [])
            click.echo(f"{len(messages)} message(s) for {keys.session_id}")
            for message in messages:
                data = base64.b64decode(message["data"])
                try:
                    opened = crypto_box_seal_open(data, keys.x25519_pubkey, keys.x25519_secret)
                except CryptoError:
                    click.echo(f"{message['hash']}  <{len(data)} bytes not sealed for this key>")
                    continue
                try:
                    text, pointers = decode_message(opened)
                except AttachmentError as exc:
                    text, pointers = f"<broken attachment pointer: {exc}>", []
                click.echo(f"{message['hash']}  {text}")
                for pointer in pointers:
                    name = Path(pointer.file_name).name or pointer.file_id
                    line = f"  attachment {name} ({pointer.size} bytes, {pointer.content_type})"
                    if server is not None:
                        save_dir.mkdir(parents=True, exist_ok=True)
                        content = await download_attachment(client, server, pointer)
                        (save_dir / name).write_bytes(content)
                        line += f" saved to {save_dir / name}"
                    click.echo(line)

    _run(go())
