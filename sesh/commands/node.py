"""`sesh node ...`: running and operating a service node.

`run` starts the node bridge. The operator's commands (register, contribute, exit,
...) live in `node_ops.py` and attach themselves to this group.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click


@click.group()
def node() -> None:
    """Run and operate a service node.

    Example: sesh node run --config node.toml
    """


@node.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="node.toml",
    show_default=True,
    help="The node's configuration file (see docs/bridge.md).",
)
def run(config_path: Path) -> None:
    """Run the node bridge: follow the chain, keep the registry and swarms, serve the API.

    Stops cleanly on SIGTERM or Ctrl-C; a restart continues from the last applied block.

    Example: sesh node run --config node.toml
    """
    from sesh.node.app import build_bridge, run_until_signalled, setup_logging
    from sesh.node.config import ConfigError, load_config
    from sesh.node.identity import IdentityError
    from sesh.node.messages import MessageDBError
    from sesh.node.store import StoreError

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from None
    setup_logging(config.log_level, config.log_format)
    try:
        bridge = build_bridge(config)
    except IdentityError as exc:
        raise click.ClickException(f"{config_path}: {exc}") from None
    except (StoreError, MessageDBError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(run_until_signalled(bridge))
    except OSError as exc:  # the listen address is taken, typically
        raise click.ClickException(
            f"cannot serve on {config.node.listen_host}:"
            f"{config.node.listen_port}: {exc.strerror or exc}"
        ) from None
