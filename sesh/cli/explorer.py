"""`sesh explorer`: the page every bridge serves at `/` (sesh/web/), served on its own,
without a node: a bridge with no node key and no votes follows the chain of `--network`
and serves the registry API and the page."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from sesh.cli.common import SeshCommand, chain_options


@click.command(cls=SeshCommand)
@chain_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".cache/explorer"),
    show_default=True,
    help="Where the registry's database is kept (a restart continues from it).",
)
def explorer(network, account_alias, manifest_path, deployments_dir, host, port, data_dir):
    """Serve the network explorer and staking page at http://HOST:PORT/.

    Example: sesh explorer --network arbitrum:devnet:node --port 8080
    """
    from ape import chain

    from sesh.contracts import Suite
    from sesh.node.app import build_bridge, run_until_signalled, setup_logging
    from sesh.node.config import ConfigError, parse_config

    suite = Suite.load(manifest_path, deployments_dir)
    uri = getattr(chain.provider, "http_uri", None) or getattr(chain.provider, "uri", None)
    if not uri:
        raise click.ClickException(f"{network.name}: no HTTP RPC URL to follow the chain with")
    directory = data_dir / str(chain.chain_id)
    try:
        config = parse_config(
            {
                "chain": {
                    "providers": [uri],
                    "confirmations": 0 if chain.chain_id == 412346 else 20,
                },
                "contracts": {"manifest": str(suite.manifest.path.resolve())},
                "node": {"data_dir": str(directory.resolve()), "listen": f"{host}:{port}"},
                "votes": {"enabled": False},
            },
            Path.cwd(),
        )
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    directory.mkdir(parents=True, exist_ok=True)
    setup_logging(config.log_level, config.log_format)
    click.echo(f"explorer of chain {chain.chain_id} at http://{host}:{port}/ (Ctrl-C stops)")
    try:
        asyncio.run(run_until_signalled(build_bridge(config)))
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}"
        ) from None
