"""`sesh node ...`: running and operating a service node.

The operator's commands (register, contribute, exit, ...) live in `node_ops.py` and attach
themselves to this group.
"""

from __future__ import annotations

import click


@click.group()
def node() -> None:
    """Run and operate a service node.

    Example: sesh node status 1 --network arbitrum:devnet:node
    """
