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
    from sesh.commands.msg import msg
    from sesh.commands.node import node

    main.add_command(node)
    main.add_command(msg)


_register_commands()

if __name__ == "__main__":
    main()
