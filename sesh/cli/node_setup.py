"""`sesh node init|info`: setting up the machine that runs a node, and asking a running
bridge who it is. Neither needs Ape: `init` asks the RPC for its chain id and reads the
manifest, `info` is one HTTP GET."""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from sesh.cli.keys import DEFAULT_KEYSTORE
from sesh.cli.node import node

DEFAULT_RPC = "http://127.0.0.1:8545"
# Local chains' blocks are final at once; on Arbitrum, the bridge's default depth.
LOCAL_CONFIRMATIONS = 0


class BridgeUnreachable(Exception):
    """GET /info of an endpoint failed; the message says how."""


def fetch_info(endpoint: str, timeout: float = 5.0) -> dict[str, Any]:
    """The JSON of `http://<endpoint>/info` (a bridge's identity and sync state)."""
    url = endpoint if endpoint.startswith(("http://", "https://")) else f"http://{endpoint}"
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/info", timeout=timeout) as response:
            document = json.loads(response.read(1 << 20))
    except urllib.error.HTTPError as exc:
        raise BridgeUnreachable(f"answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise BridgeUnreachable(
            f"no answer ({getattr(reason, 'strerror', None) or reason})"
        ) from None
    except ValueError:
        raise BridgeUnreachable("answered, but not with a bridge's JSON") from None
    if not isinstance(document, dict):
        raise BridgeUnreachable("answered, but not with a bridge's JSON")
    return document


def rpc_url_of(network_choice: str | None) -> str | None:
    """The URL in `arbitrum:devnet:http://host:port`, if the choice carries one."""
    if network_choice and "http" in network_choice:
        return network_choice[network_choice.index("http") :]
    return None


def _chain_id(rpc_url: str) -> int:
    from sesh.devnet.chain import rpc

    try:
        return int(rpc(rpc_url, "eth_chainId", timeout=5.0), 16)
    except Exception as exc:  # any failure to reach it: one line, no traceback
        raise click.ClickException(f"cannot ask {rpc_url} for its chain id: {exc}") from None


def node_toml(
    *, rpc_url: str, manifest: Path, listen: str, keystore: Path, ed25519_pubkey: str,
    password_file: Path | None, confirmations: int | None,
) -> str:  # fmt: skip
    password = (
        f'key_store_password_file = "{password_file}"\n'
        if password_file
        else '# password: $SESH_KEYSTORE_PASSWORD (or key_store_password_file = "...")\n'
    )
    depth = "" if confirmations is None else f"confirmations = {confirmations}\n"
    return f"""# Written by `sesh node init`; every key is described in docs/bridge.md.
[chain]
providers = ["{rpc_url}"]
{depth}
[contracts]
manifest = "{manifest}"

[node]
data_dir = "data"
listen = "{listen}"
key_store = "{keystore}"
{password}ed25519_pubkey = "{ed25519_pubkey}"

[log]
level = "info"
"""


def systemd_unit(config: Path, sesh_bin: str, password_file: Path | None) -> str:
    environment = (
        ""
        if password_file
        else "# The keystore's password (or set key_store_password_file in node.toml):\n"
        "# Environment=SESH_KEYSTORE_PASSWORD=...\n"
    )
    return f"""# Written by `sesh node init`. Install it with
#   sudo cp sesh-node.service /etc/systemd/system/ && sudo systemctl enable --now sesh-node
[Unit]
Description=Session service node bridge (sesh node run)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={sesh_bin} node run --config {config}
WorkingDirectory={config.parent}
{environment}Restart=on-failure
RestartSec=5
# The bridge stops cleanly on SIGTERM and continues from its last block on restart.
KillSignal=SIGTERM
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
"""


@node.command("init")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
    default=Path("~/.sesh/node"), callback=lambda _ctx, _param, value: value.expanduser(),
    envvar="SESH_NODE_DIR", show_default=True,
    help="Where node.toml, the node's data and its systemd unit go.",
)  # fmt: skip
@click.option(
    "--keystore", "keystore_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_KEYSTORE, envvar="SESH_KEYSTORE", show_default=True,
    help="The node's keystore (`sesh keys new`); node.toml refers to it, nothing is copied.",
)  # fmt: skip
@click.option("--listen", required=True, help='Where the bridge serves, "host:port".')
@click.option(
    "--rpc", "rpc_url", help="The chain's JSON-RPC URL (default: the URL of SESH_NETWORK, "
    f"else {DEFAULT_RPC}).",
)  # fmt: skip
@click.option(
    "--deployments-dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("deployments"), envvar="SESH_DEPLOYMENTS_DIR", show_default=True,
    help="Where deployments/<chain_id>.json is looked up.",
)  # fmt: skip
@click.option(
    "--password-file", type=click.Path(dir_okay=False, path_type=Path),
    help="A file (mode 0600) holding the keystore's password, for unattended starts.",
)  # fmt: skip
def init(directory, keystore_path, listen, rpc_url, deployments_dir, password_file) -> None:
    """Write a node's configuration: DIR/node.toml (the chain, the deployment manifest,
    where to listen, the keystore) and DIR/sesh-node.service (a systemd unit).

    Refuses to overwrite an existing node.toml. Start the node with
    `sesh node run --config DIR/node.toml`.

    Example: sesh node init --listen 0.0.0.0:22021 --rpc https://arb-sepolia.example/rpc
    """
    import os

    from sesh.contracts.inputs import is_local_chain
    from sesh.crypto.keystore import KeystoreError, public_keys
    from sesh.deploy.manifest import Manifest, ManifestError
    from sesh.node.config import ConfigError, _listen, parse_config

    keystore_path = keystore_path.expanduser()
    config_path = directory / "node.toml"
    if config_path.exists():
        raise click.ClickException(f"{config_path} exists; edit it, or choose another --dir")
    try:
        _listen(listen)
        public = public_keys(keystore_path)
    except (ConfigError, KeystoreError) as exc:
        raise click.ClickException(str(exc)) from None
    rpc_url = rpc_url or rpc_url_of(os.environ.get("SESH_NETWORK")) or DEFAULT_RPC
    chain_id = _chain_id(rpc_url)
    try:
        manifest = Manifest.read(Manifest.load(chain_id, deployments_dir).path, chain_id)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
    if password_file is not None and not password_file.exists():
        raise click.ClickException(f"no password file at {password_file}")
    text = node_toml(
        rpc_url=rpc_url,
        manifest=manifest.path.resolve(),
        listen=listen,
        keystore=keystore_path.resolve(),
        ed25519_pubkey=public.ed25519_pubkey,
        password_file=password_file.resolve() if password_file else None,
        confirmations=LOCAL_CONFIRMATIONS if is_local_chain(chain_id) else None,
    )
    import tomllib

    try:  # the bridge would read it so: a mistake shows now, not at `sesh node run`
        parse_config(tomllib.loads(text), base=directory.resolve())
    except ConfigError as exc:
        raise click.ClickException(f"the configuration would not work: {exc}") from None
    directory.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text)
    sesh_bin = shutil.which("sesh") or f"{sys.executable} -m sesh.cli.main"
    unit = directory / "sesh-node.service"
    unit.write_text(systemd_unit(config_path.resolve(), sesh_bin, password_file))
    click.echo(f"wrote {config_path} (chain {chain_id}, {rpc_url}, node id {public.node_id[:16]}…)")
    click.echo(f"wrote {unit} (systemd unit)")
    click.echo(f"next: sesh node run --config {config_path}")


@node.command("info")
@click.argument("endpoint")
@click.option(
    "--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Seconds to keep asking until the bridge answers and is synced.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the bridge's JSON as it is.")
def info(endpoint: str, wait: float, as_json: bool) -> None:
    """Ask the bridge at ENDPOINT (host:port) who it is: its Ed25519 key, node id and sync.

    Example: sesh node info 127.0.0.1:22021 --wait 30
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            document = fetch_info(endpoint)
            if document.get("synced") or time.monotonic() >= deadline:
                break
        except BridgeUnreachable as exc:
            if time.monotonic() >= deadline:
                raise click.ClickException(f"{endpoint}: {exc}") from None
        time.sleep(0.3)
    if as_json:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    node_id = document.get("node_id")
    state = "synced" if document.get("synced") else "syncing"
    click.echo(
        f"bridge {endpoint}: {state} to block {document.get('synced_block')}, "
        f"chain {document.get('chain_id')}"
    )
    click.echo(f"ed25519 pubkey  {document.get('ed25519_pubkey')}")
    click.echo(f"node id         {node_id if node_id is not None else 'not registered yet'}")
