"""`sesh fileserver ...`: run a Session-compatible file server (reached through onion
requests only) and print its key."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path

import click

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="fileserver-data",
    show_default=True,
    help="Where the key, the index and the files live.",
)


@click.group()
def fileserver() -> None:
    """Run the file server for attachments.

    Example: sesh fileserver run --data-dir fs --listen 127.0.0.1:22030
    """


@fileserver.command()
@data_dir_option
@click.option("--listen", default="127.0.0.1:22030", show_default=True, help="host:port")
@click.option("--max-file-size", type=click.IntRange(1), default=10_000_000, show_default=True,
              help="Largest upload in bytes.")  # fmt: skip
@click.option("--ttl-days", type=click.FloatRange(min=0, min_open=True), default=21.0,
              show_default=True, help="Days a file is kept (renewed by extend).")  # fmt: skip
@click.option("--expiry-interval", type=float, default=60.0, show_default=True,
              help="Seconds between drops of expired files.")  # fmt: skip
def run(
    data_dir: Path, listen: str, max_file_size: int, ttl_days: float, expiry_interval: float
) -> None:
    """Serve files until SIGTERM or Ctrl-C.

    Example: sesh fileserver run --data-dir fs --listen 127.0.0.1:22030
    """
    from sesh.fileserver.server import FileServer, FileServerSettings

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("host:port", param_hint="--listen")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = FileServerSettings(
        data_dir, host, int(port), max_file_size, ttl_days * 86_400, expiry_interval
    )
    server = FileServer(settings)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await server.run(stop)

    asyncio.run(go())


@fileserver.command()
@data_dir_option
def key(data_dir: Path) -> None:
    """Print the server's X25519 public key (creating the key if needed).

    Example: sesh fileserver key --data-dir fs
    """
    from sesh.fileserver.server import load_or_create_key

    public, _ = load_or_create_key(data_dir)
    click.echo(json.dumps({"x25519_pubkey": public.hex()}))
