"""The devnet: the whole suite on a fresh local chain, test accounts funded, service nodes
registered with a bridge each, and the user story (`sesh/devnet/story.py`).

`scripts/devnet.py` (`make devnet`) runs it on the anvil it starts; the integration test
runs it on its own. It deploys with `sesh.deploy.suite`, the code of `ape run deploy all`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sesh.devnet.chain import DEVNET_CHAIN_ID
from sesh.devnet.network import DEFAULT_PORT, SUBMITTER_BASE

# Test accounts 1-9 get this much SESH from the deployer, to stake and pay with.
DEVNET_FUNDED_ACCOUNTS = 9
DEVNET_ACCOUNT_SESH = 100_000
# ape-config.yaml's arbitrum:devnet:node URI: the CLI's default network.
DEFAULT_RPC_URL = "http://127.0.0.1:8545"


class DevnetError(Exception):
    """The devnet could not be deployed; the message says why."""


@contextmanager
def connected(url: str) -> Iterator[None]:
    """Ape connected to the devnet's anvil at `url` (the SDK's transactions go there),
    through the project's `arbitrum:devnet` network: a network of its own, so that even
    where Ape is already connected to a local chain (tests) nothing goes there by mistake."""
    from ape import chain, networks

    with networks.parse_network_choice(f"arbitrum:devnet:{url}"):
        if chain.chain_id != DEVNET_CHAIN_ID:
            raise DevnetError(
                f"{url} is chain {chain.chain_id}, not the devnet ({DEVNET_CHAIN_ID})"
            )
        yield


def deploy_devnet(
    url: str, deployments_dir: Path, config_path: Path, console, seeding: bool = False
) -> Path:
    """Deploy, wire and check the suite on the fresh chain at `url` (Ape connected to it),
    fund the test accounts, print it all; the manifest's path. With `seeding`, the staking
    contract is deployed in its seeding phase (`--migrate`)."""
    import dataclasses

    from ape import accounts

    from sesh.deploy.config import ConfigError, load_config
    from sesh.deploy.manifest import Manifest
    from sesh.deploy.steps import Deployer, DeployError
    from sesh.deploy.suite import SuiteDeployment

    try:
        config = load_config(config_path)
        config.check_chain(DEVNET_CHAIN_ID)
        if seeding:
            config = dataclasses.replace(config, seeding=True)
    except ConfigError as exc:
        raise DevnetError(str(exc)) from None
    # The chain is new: whatever an earlier devnet recorded is gone.
    manifest = Manifest.load(DEVNET_CHAIN_ID, deployments_dir)
    manifest.forget()
    manifest.network = "arbitrum:devnet"
    deployer_account = accounts.test_accounts[0]
    deployer = Deployer(account=deployer_account, manifest=manifest, echo=console.print)
    suite = SuiteDeployment(deployer, config)
    try:
        suite.run()
    except DeployError as exc:
        raise DevnetError(str(exc)) from None
    failed = [c for c in suite.check_wires() if c.required and not c.ok]
    if failed:
        raise DevnetError(
            "wiring check failed: " + "; ".join(f"{c.what}: {c.detail}" for c in failed)
        )
    fund_test_accounts(suite, deployer_account, console)
    console.print(devnet_table(url, manifest, deployer_account, suite))
    console.print(
        "Test accounts use the mnemonic "
        "'test test test test test test test test test test test junk'; "
        f"the sesh CLI reaches this chain with {network_hint(url)}."
    )
    return manifest.path


def fund_test_accounts(suite, deployer_account, console) -> None:
    """Give test accounts 1-9 SESH to stake, delegate and pay with (devnet only)."""
    from ape import accounts

    from sesh.deploy.suite import TOKEN
    from sesh.rules.units import UNIT, format_sesh

    token = suite.instances[TOKEN]
    for account in list(accounts.test_accounts)[1 : DEVNET_FUNDED_ACCOUNTS + 1]:
        token.transfer(account, DEVNET_ACCOUNT_SESH * UNIT, sender=deployer_account)
    console.print(
        f"Test accounts 1-{DEVNET_FUNDED_ACCOUNTS} hold "
        f"{format_sesh(DEVNET_ACCOUNT_SESH * UNIT)} each."
    )


def devnet_table(url: str, manifest, deployer_account, suite):
    """The table `make devnet` prints: the RPC, then every contract of the manifest."""
    from rich.table import Table

    from sesh.deploy.suite import TOKEN
    from sesh.rules.units import format_sesh

    table = Table(title="Session devnet", show_lines=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("RPC", url)
    table.add_row("chain id", str(manifest.chain_id))
    table.add_row(
        "ape network",
        "arbitrum:devnet:node" if url == DEFAULT_RPC_URL else f"arbitrum:devnet:{url}",
    )
    for name, entry in manifest.contracts.items():
        table.add_row(name, entry.address)
    held = suite.instances[TOKEN].balanceOf(deployer_account)
    table.add_row("deployer", f"{deployer_account.address} ({format_sesh(held)})")
    table.add_row("manifest", str(manifest.path))
    return table


def anvil_accounts(nodes: int) -> int:
    """Accounts the devnet's anvil needs: the ten of every Ape project, then one submitter
    per node."""
    return max(10, SUBMITTER_BASE + nodes)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `host:port`. SO_REUSEADDR as servers (anvil, the
    bridge) bind: the TIME_WAIT connections of a devnet just stopped do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def pick_ports(count: int, base: int = DEFAULT_PORT) -> list[int]:
    """`base`, `base + 1`, ... (Session's storage port first). A taken port is refused,
    not skipped: it is most likely another devnet's node, and a devnet started beside a
    running one would take over its directory and manifest."""
    ports = list(range(base, base + count))
    taken = [port for port in ports if port_in_use(port)]
    if taken:
        raise DevnetError(
            f"node port(s) {', '.join(map(str, taken))} in use (another devnet running?); "
            f"stop it, or choose free ports with --node-port"
        )
    return ports


def check_chain_port(port: int) -> None:
    """Refuse a chain port in use before anything is started or written."""
    if port_in_use(port):
        raise DevnetError(
            f"port {port} is in use (another devnet running?); nothing was started or "
            f"changed. Stop it (make devnet-stop), or choose another port: "
            f"make devnet ARGS='--port {port + 100}'"
        )


def network_hint(url: str) -> str:
    """How the sesh CLI and `ape run` reach the devnet at `url`."""
    if url == DEFAULT_RPC_URL:
        return "--network arbitrum:devnet:node (the default of the sesh CLI)"
    return f"export SESH_NETWORK=arbitrum:devnet:{url} (or --network arbitrum:devnet:{url})"


@dataclass
class Devnet:
    """A running devnet's nodes and story (stop the bridges with `stop()`)."""

    network: Any
    story: Any
    file_server: Any = None

    def stop(self) -> None:
        self.network.stop()
        if self.file_server is not None:
            self.file_server.stop()


def start_nodes_and_story(
    url: str,
    manifest_path: Path,
    console,
    count: int,
    ports: list[int],
    root: Path,
    rpc,
    run_story: bool = True,
    migrate: int = 0,
) -> Devnet:
    """Register `count` nodes (or, with `migrate`, seed them among `migrate` nodes of an
    old network and start the contract: sesh/devnet/migration.py), start a bridge for
    each and wait until they agree on the swarms; then the story and its summary. Ape must
    be connected to `url`. On failure the bridges started are stopped."""
    from ape import accounts
    from ape.logging import LogLevel, logger

    from sesh.contracts import Suite
    from sesh.devnet.fileserver import FileServerProcess
    from sesh.devnet.network import DevnetNetwork, plan_nodes
    from sesh.devnet.story import DevnetStory, progress

    # The story narrates its transactions; Ape's line per confirmation would drown it.
    logger.set_level(LogLevel.WARNING)
    suite = Suite.load(manifest_path)
    roles = list(accounts.test_accounts)
    submitters = rpc("eth_accounts", [])[SUBMITTER_BASE : SUBMITTER_BASE + count]
    if len(submitters) < count:
        raise DevnetError(f"anvil has too few accounts: start it with {anvil_accounts(count)}")
    nodes = plan_nodes(count, suite.staking.requirement(), ports, submitters)
    network = DevnetNetwork(root, url, manifest_path.resolve(), nodes)
    delegated = sum(1 for n in nodes if n.delegated)
    file_server = None
    console.rule(f"[bold]{count} service nodes")
    try:
        migration = None
        if migrate:
            migration = _seed(console, suite, roles, nodes, migrate, manifest_path)
        else:
            network.fund(suite, roles, roles[0])
            with progress(console) as bars:
                task = bars.add_task(
                    f"registering ({count - delegated} solo, {delegated} shared)", total=count
                )
                network.register(suite, roles, lambda: bars.advance(task))
        network.write()
        block = int(rpc("eth_blockNumber", []), 16)
        with progress(console) as bars:
            task = bars.add_task("starting the bridges (sesh node run)", total=count)
            network.start(block, lambda: bars.advance(task))
        swarms = network.wait_agreement(block)
        console.print(f"All {count} bridges agree on {len(swarms)} swarm(s):")
        for swarm_id, members in sorted(swarms.items()):
            console.print(f"  swarm {swarm_id:016x}: nodes {members}")
        file_server = FileServerProcess(root / "fileserver").start()
        console.print(f"File server at {file_server.url}, X25519 key {file_server.x25519_hex}")
        story = DevnetStory(console, suite, roles, network, rpc, root / "users", file_server)
        if run_story:
            story.run()
            if migration is not None:
                # The rest of the move, on the migrated network the story has just run:
                # a conversion, a claim from the old chain's snapshot, a vested node.
                from sesh.devnet.migration import run_migration_steps

                run_migration_steps(migration)
            console.print(story.summary())
        return Devnet(network, story, file_server)
    except BaseException:
        network.stop()
        if file_server is not None:
            file_server.stop()
        raise


def _seed(console, suite, roles, nodes, total: int, manifest_path: Path):
    """The move: the devnet's nodes among `total` nodes of an old network, seeded in
    batches, then `start`."""
    from sesh.contracts import Suite
    from sesh.devnet.migration import MigrationContext, seed_devnet
    from sesh.devnet.story import progress

    total = max(total, len(nodes))
    console.rule(f"[bold]The move: seeding {total} nodes of the old network")
    with progress(console) as bars:
        task = bars.add_task(f"seeding {total} nodes (every proof checked on chain)", total=total)
        snapshot = seed_devnet(
            console,
            suite,
            roles,
            nodes,
            total,
            lambda seeded, _total: bars.update(task, completed=seeded),
        )
    staking = Suite.load(manifest_path).staking.contract
    console.print(
        f"  started: {int(staking.node_count())} nodes seeded, {int(staking.active_nodes())} "
        f"active (the {len(nodes)} this devnet runs), the others open"
    )
    return MigrationContext(console, suite, roles, suite.manifest, snapshot, nodes)
