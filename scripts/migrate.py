"""Move the running network's nodes onto the staking contract with Ape
(docs/migration.md): the same commands as `sesh migrate`.

    ape run migrate nodes snapshot.json --network arbitrum:sepolia:node --account owner
    ape run migrate nodes snapshot.json --dry-run
    ape run migrate start --account owner
"""

from sesh.cli.migrate import migrate as cli

__all__ = ["cli"]
