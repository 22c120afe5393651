"""`node.toml`: what one bridge needs to know, read once and checked at start.

    [chain]
    chain_id = 412346                        # optional with a manifest (taken from it)
    providers = ["http://127.0.0.1:8545", "https://arbitrum.example/rpc"]
    confirmations = 20                       # apply only blocks at least this deep
    poll_interval = 2.0                      # seconds between rounds once synced
    max_block_range = 2000                   # blocks per eth_getLogs
    request_timeout = 10.0                   # seconds per RPC call
    max_lag_blocks = 20                      # fail over from a provider this far behind
    reorg_history_blocks = 100000            # rollback history kept (deeper: resync)

    [contracts]
    manifest = "deployments/412346.json"     # ServiceNodeStaking / SessionPro from it
    # or explicitly:
    # staking = "0x..."
    # pro = "0x..."
    # start_block = 123                      # first block to read (deployment block)

    [node]
    data_dir = "node-data"                   # SQLite database lives here
    listen = "127.0.0.1:22021"               # HTTP API (host:port)
    key_store = "keys/node.json"             # this node's keys (read by later parts)
    key_file = "keys/node.key"               # Ed25519 seed (64 hex digits), mode 0600:
                                             # enables onion requests and message storage
    ed25519_pubkey = "…64 hex…"              # this node's identity (must match key_file)

    [storage]                                # message storage (with key_file)
    max_bytes = 1073741824                   # messages database bound; stores refused beyond
    expiry_interval = 10.0                   # seconds between drops of expired messages
    sync_interval = 30.0                     # seconds between catch-ups with swarm peers
    peer_timeout = 5.0                       # seconds per node-to-node request

    [onion]
    max_request_bytes = 1048576              # larger onion requests are refused (413)
    relay_timeout = 20.0                     # seconds to wait for the next hop

    [log]
    level = "info"                           # debug, info, warning, error
    format = "text"                          # or "json" (one object per line)

Relative paths are relative to the file. Every mistake is a `ConfigError` naming the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sesh.deployments import Manifest, ManifestError

STAKING_CONTRACT = "ServiceNodeStaking"
PRO_CONTRACT = "SessionPro"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class ChainConfig:
    chain_id: int
    providers: tuple[str, ...]
    confirmations: int = 20
    poll_interval: float = 2.0
    max_block_range: int = 2_000
    request_timeout: float = 10.0
    max_lag_blocks: int = 20
    reorg_history_blocks: int = 100_000


@dataclass(frozen=True)
class ContractsConfig:
    staking: str
    pro: str | None
    start_block: int

    @property
    def addresses(self) -> list[str]:
        return sorted({a for a in (self.staking, self.pro) if a})


@dataclass(frozen=True)
class NodeSection:
    data_dir: Path
    listen_host: str
    listen_port: int
    key_store: Path | None = None
    ed25519_pubkey: bytes | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class StorageConfig:
    max_bytes: int = 1 << 30
    expiry_interval: float = 10.0
    sync_interval: float = 30.0
    peer_timeout: float = 5.0


@dataclass(frozen=True)
class OnionConfig:
    max_request_bytes: int = 1 << 20
    relay_timeout: float = 20.0


@dataclass(frozen=True)
class NodeConfig:
    chain: ChainConfig
    contracts: ContractsConfig
    node: NodeSection
    log_level: str = "info"
    log_format: str = "text"
    path: Path | None = field(default=None, compare=False)
    storage: StorageConfig = field(default_factory=StorageConfig)
    onion: OnionConfig = field(default_factory=OnionConfig)

    @property
    def database_path(self) -> Path:
        return self.node.data_dir / "bridge.sqlite3"


def load_config(path: Path | str) -> NodeConfig:
    """Read and check `path`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(data, base=path.resolve().parent, path=path)


def parse_config(data: dict[str, Any], base: Path, path: Path | None = None) -> NodeConfig:
    _only(data, "", {"chain", "contracts", "node", "log", "storage", "onion"})
    chain_data = _table(data, "chain")
    contracts_data = _table(data, "contracts")
    node_data = _table(data, "node")
    log_data = _table(data, "log", required=False)
    storage_data = _table(data, "storage", required=False)
    onion_data = _table(data, "onion", required=False)

    _only(chain_data, "chain.", {f.name for f in ChainConfig.__dataclass_fields__.values()})
    _only(contracts_data, "contracts.", {"manifest", "staking", "pro", "start_block"})
    _only(node_data, "node.", {"data_dir", "listen", "key_store", "key_file", "ed25519_pubkey"})
    _only(log_data, "log.", {"level", "format"})
    _only(storage_data, "storage.", set(StorageConfig.__dataclass_fields__))
    _only(onion_data, "onion.", set(OnionConfig.__dataclass_fields__))

    providers = chain_data.get("providers")
    if not isinstance(providers, list) or not providers:
        raise ConfigError(
            'chain.providers: give at least one RPC URL, e.g. ["http://127.0.0.1:8545"]'
        )
    for url in providers:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"chain.providers: {url!r} is not an http(s) URL")

    contracts, manifest_chain = _contracts(contracts_data, base)
    chain_id = chain_data.get("chain_id", manifest_chain)
    if chain_id is None:
        raise ConfigError("chain.chain_id: required when no contracts.manifest gives it")
    chain_id = _int(chain_id, "chain.chain_id", minimum=1)
    if manifest_chain is not None and manifest_chain != chain_id:
        raise ConfigError(
            f"chain.chain_id is {chain_id} but the manifest is for chain {manifest_chain}"
        )

    chain = ChainConfig(
        chain_id=chain_id,
        providers=tuple(providers),
        confirmations=_int(chain_data.get("confirmations", 20), "chain.confirmations", minimum=0),
        poll_interval=_float(chain_data.get("poll_interval", 2.0), "chain.poll_interval"),
        max_block_range=_int(
            chain_data.get("max_block_range", 2_000), "chain.max_block_range", minimum=1
        ),
        request_timeout=_float(chain_data.get("request_timeout", 10.0), "chain.request_timeout"),
        max_lag_blocks=_int(
            chain_data.get("max_lag_blocks", 20), "chain.max_lag_blocks", minimum=0
        ),
        reorg_history_blocks=_int(
            chain_data.get("reorg_history_blocks", 100_000), "chain.reorg_history_blocks", minimum=1
        ),
    )

    host, port = _listen(node_data.get("listen", "127.0.0.1:22021"))
    pubkey = node_data.get("ed25519_pubkey")
    if pubkey is not None:
        try:
            pubkey = bytes.fromhex(str(pubkey).removeprefix("0x"))
        except ValueError:
            raise ConfigError("node.ed25519_pubkey: not hexadecimal") from None
        if len(pubkey) != 32:
            raise ConfigError(f"node.ed25519_pubkey: {len(pubkey)} bytes, not 32")
    key_store = node_data.get("key_store")
    key_file = node_data.get("key_file")
    node = NodeSection(
        data_dir=_path(node_data.get("data_dir", "node-data"), base),
        listen_host=host,
        listen_port=port,
        key_store=_path(key_store, base) if key_store is not None else None,
        ed25519_pubkey=pubkey,
        key_file=_path(key_file, base) if key_file is not None else None,
    )
    storage = StorageConfig(
        max_bytes=_int(
            storage_data.get("max_bytes", 1 << 30), "storage.max_bytes", minimum=1 << 16
        ),
        expiry_interval=_float(
            storage_data.get("expiry_interval", 10.0), "storage.expiry_interval"
        ),
        sync_interval=_float(storage_data.get("sync_interval", 30.0), "storage.sync_interval"),
        peer_timeout=_float(storage_data.get("peer_timeout", 5.0), "storage.peer_timeout"),
    )
    onion = OnionConfig(
        max_request_bytes=_int(
            onion_data.get("max_request_bytes", 1 << 20), "onion.max_request_bytes", minimum=1024
        ),
        relay_timeout=_float(onion_data.get("relay_timeout", 20.0), "onion.relay_timeout"),
    )

    level = str(log_data.get("level", "info")).lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"log.level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    fmt = str(log_data.get("format", "text")).lower()
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"log.format: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    return NodeConfig(chain, contracts, node, level, fmt, path, storage, onion)


def _contracts(data: dict[str, Any], base: Path) -> tuple[ContractsConfig, int | None]:
    manifest_path = data.get("manifest")
    if manifest_path is not None:
        if "staking" in data or "pro" in data:
            raise ConfigError("contracts: give a manifest or addresses, not both")
        try:
            manifest = Manifest.read(_path(manifest_path, base))
        except ManifestError as exc:
            raise ConfigError(f"contracts.manifest: {exc}") from None
        if STAKING_CONTRACT not in manifest.contracts:
            raise ConfigError(f"contracts.manifest: {manifest.path} has no {STAKING_CONTRACT}")
        staking = manifest.contracts[STAKING_CONTRACT]
        pro = manifest.contracts.get(PRO_CONTRACT)
        blocks = [staking.block] + ([pro.block] if pro else [])
        start = data.get("start_block", min(blocks))
        return (
            ContractsConfig(
                staking=_address(staking.address, "manifest staking"),
                pro=_address(pro.address, "manifest pro") if pro else None,
                start_block=_int(start, "contracts.start_block", minimum=0),
            ),
            manifest.chain_id,
        )
    if "staking" not in data:
        raise ConfigError(
            'contracts: give manifest = "deployments/<chain>.json" or staking = "0x..."'
        )
    return (
        ContractsConfig(
            staking=_address(data["staking"], "contracts.staking"),
            pro=_address(data["pro"], "contracts.pro") if data.get("pro") else None,
            start_block=_int(data.get("start_block", 0), "contracts.start_block", minimum=0),
        ),
        None,
    )


def _table(data: dict[str, Any], name: str, required: bool = True) -> dict[str, Any]:
    value = data.get(name)
    if value is None:
        if required:
            raise ConfigError(f"[{name}] section missing")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a [{name}] table")
    return value


def _only(data: dict[str, Any], prefix: str, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(prefix + k for k in unknown)}"
            f" (known: {', '.join(sorted(prefix + k for k in allowed))})"
        )


def _int(value: Any, key: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: {value!r} is not an integer")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: {value} is below {minimum}")
    return value


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{key}: {value!r} is not a positive number")
    return float(value)


def _address(value: Any, key: str) -> str:
    text = str(value)
    if not (text.startswith("0x") and len(text) == 42):
        raise ConfigError(f"{key}: {value!r} is not a 0x-prefixed 20-byte address")
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not hexadecimal") from None
    return text


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _listen(value: Any) -> tuple[str, int]:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host:
        raise ConfigError(f"node.listen: {value!r} is not host:port")
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"node.listen: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"node.listen: port {number} out of range")
    return host.strip("[]"), number
