"""Click helpers shared by the Ape scripts and the `sesh` CLI: one-line errors, not tracebacks."""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand

RPC_HINT = (
    "give the network an RPC URL: in ape-config.yaml (node: {ecosystem}: {network}: uri: "
    "https://...) or inline, --network {ecosystem}:{network}:https://<rpc-url>"
)


def explain_ape_error(exc: Exception, network_choice: str | None = None) -> str:
    """A one-line explanation of an Ape error, with what to do where we know it."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if "Missing URI for network" in message and network_choice:
        ecosystem, _, rest = network_choice.partition(":")
        network = rest.partition(":")[0]
        return f"{message} — " + RPC_HINT.format(ecosystem=ecosystem, network=network)
    return message


class ChainCommand(ConnectedProviderCommand):
    """`ConnectedProviderCommand` whose Ape failures (no RPC URL, node unreachable, a
    reverted transaction) end as `Error: <one line>` instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from ape.exceptions import ApeException

        network = ctx.params.get("network")
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except ApeException as exc:
            if isinstance(network, str):
                choice: str | None = network
            elif network is not None:
                choice = f"{network.ecosystem.name}:{network.name}"
            else:
                choice = None
            raise click.ClickException(explain_ape_error(exc, choice)) from None
