"""`sesh`: the command line of the Session Network on Arbitrum.

Sub-commands are grouped by who uses them (keys, node, msg, rewards, names, pro); each lives
in its own module and registers itself on `main`.
"""

from __future__ import annotations

import click

from sesh import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sesh")
def main() -> None:
    """Session Network on Arbitrum: SESH, staking, names and Pro.

    Example: sesh --version
    """


def _register_commands() -> None:
    # Importing node_ops attaches the operator's commands to the `node` group.
    import sesh.cli.node_ops  # noqa: F401
    import sesh.cli.node_setup  # noqa: F401
    from sesh.cli.dev import dev
    from sesh.cli.explorer import explorer
    from sesh.cli.feeds import feeds
    from sesh.cli.fileserver import fileserver
    from sesh.cli.keys import keys
    from sesh.cli.migrate import migrate
    from sesh.cli.msg import msg
    from sesh.cli.names import names
    from sesh.cli.node import node
    from sesh.cli.pro import pro
    from sesh.cli.rewards import rewards
    from sesh.cli.token import balance, token

    groups = (
        keys,
        node,
        rewards,
        balance,
        token,
        names,
        pro,
        feeds,
        msg,
        fileserver,
        dev,
        explorer,
        migrate,
    )
    for group in groups:
        main.add_command(group)

    # The move from the old chain: `sesh migrate tokens` attaches to the shared `migrate`
    # group (created if the node migration has not), `sesh vesting` for beneficiaries.
    from sesh.cli import migrate_tokens
    from sesh.cli.vesting import vesting

    migrate_tokens.register(main)
    main.add_command(vesting)


_register_commands()

if __name__ == "__main__":
    main()
