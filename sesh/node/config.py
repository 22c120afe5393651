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
    # names = "0x..."                        # SessionNameService: the web page counts names
    # start_block = 123                      # first block to read (deployment block)

    [node]
    data_dir = "node-data"                   # SQLite database lives here
    listen = "127.0.0.1:22021"               # HTTP API (host:port)
    key_store = "keys/node.json"             # this node's keys (`sesh keys new`), opened with
    key_store_password_file = "keys/pass"    # this file's text (mode 0600), else with
                                             # $SESH_KEYSTORE_PASSWORD
    # or the plain development form (instead of key_store):
    # key_file = "keys/node.key"             # Ed25519 seed (64 hex digits), mode 0600
    # bls_key_file = "keys/node.bls"         # BLS secret key (64 hex digits), mode 0600
    ed25519_pubkey = "…64 hex…"              # this node's identity (must match its key)

    [storage]                                # message storage (with key_file)
    max_bytes = 1073741824                   # messages database bound; stores refused beyond
    expiry_interval = 10.0                   # seconds between drops of expired messages
    sync_interval = 30.0                     # seconds between catch-ups with swarm peers
    retry_interval = 1.0                     # first wait after a failed catch-up (doubling)
    peer_timeout = 5.0                       # seconds per node-to-node request

    [onion]
    max_request_bytes = 10485760             # larger onion requests are refused (413)
    relay_timeout = 30.0                     # seconds to wait for the next hop (> server_timeout)
    server_relay = true                      # relay to servers (file server) for clients
    server_timeout = 25.0                    # seconds to wait for such a server
    allow_private_servers = false            # also relay to loopback/private addresses (devnet)
    max_server_response_bytes = 16777216     # larger server answers are cut off (502)

    [http]                                   # what any client may ask of this node
    header_timeout = 10.0                    # seconds to send a request's headers
    body_timeout = 30.0                      # seconds to send its body, once headers are in
    idle_timeout = 60.0                      # idle connections closed after this long
    rate_limit = true                        # per client address (signed node traffic exempt):
    rate_burst = 600                         #   a bucket of this many requests,
    rate_per_second = 300.0                  #   refilled at this rate; empty: 429

    [votes]                                  # peer tests and network votes (with a key)
    enabled = true
    test_interval = 30.0                     # seconds between rounds of peer tests
    random_peers = 5                         # peers outside the swarm tested each round
    test_timeout = 5.0                       # seconds per request of a test
    remove_after = 7200.0                    # failing this long: sign SESH_REMOVE
    liquidate_after = 86400.0                # failing this long: sign SESH_LIQUIDATE
    clock_tolerance = 180.0                  # sign timestamps this close to the chain's clock
    sign_timeout = 5.0                       # seconds to wait for each node's signature
    retry_interval = 30.0                    # seconds between signature rounds of a vote
    takeover_delay = 120.0                   # extra wait of each next aggregator in line
    aggregate = true                         # aggregate (and submit) votes this node leads
    exit_votes = true                        # aggregate this node's own fast exit
    history_hours = 24.0                     # peer test results kept

    [votes.submitter]                        # the account that pays for the transactions
    kind = "ape"                             # an Ape account (its encrypted keyfile) ...
    alias = "node-submitter"
    passphrase_env = "APE_ACCOUNTS_node-submitter_PASSPHRASE"   # (this is the default)
    # kind = "unlocked"                      # ... or, on dev chains only, an unlocked
    # address = "0x…"                        # account of the node (eth_sendTransaction)

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

from sesh.deploy.manifest import Manifest, ManifestError

STAKING_CONTRACT = "ServiceNodeStaking"
PRO_CONTRACT = "SessionPro"
NAMES_CONTRACT = "SessionNameService"
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
    # Only read by the web page (its count of names); the tracker does not follow it.
    names: str | None = None

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
    bls_key_file: Path | None = None
    key_store_password_file: Path | None = None


@dataclass(frozen=True)
class StorageConfig:
    max_bytes: int = 1 << 30
    expiry_interval: float = 10.0
    sync_interval: float = 30.0
    retry_interval: float = 1.0
    peer_timeout: float = 5.0


@dataclass(frozen=True)
class OnionConfig:
    max_request_bytes: int = 10 << 20
    relay_timeout: float = 30.0
    server_relay: bool = True
    server_timeout: float = 25.0
    allow_private_servers: bool = False
    max_server_response_bytes: int = 16 << 20


@dataclass(frozen=True)
class HttpConfig:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    rate_limit: bool = True
    rate_burst: int = 600
    rate_per_second: float = 300.0


SUBMITTER_KINDS = ("ape", "unlocked")


@dataclass(frozen=True)
class SubmitterConfig:
    """The account a node sends its network-vote transactions from."""

    kind: str
    address: str | None = None
    alias: str | None = None
    passphrase_env: str | None = None


@dataclass(frozen=True)
class VotesConfig:
    enabled: bool = True
    test_interval: float = 30.0
    random_peers: int = 5
    test_timeout: float = 5.0
    remove_after: float = 7200.0
    liquidate_after: float = 86400.0
    clock_tolerance: float = 180.0
    sign_timeout: float = 5.0
    retry_interval: float = 30.0
    takeover_delay: float = 120.0
    aggregate: bool = True
    exit_votes: bool = True
    history_hours: float = 24.0
    submitter: SubmitterConfig | None = None


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
    votes: VotesConfig = field(default_factory=VotesConfig)
    http: HttpConfig = field(default_factory=HttpConfig)

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
    _only(data, "", {"chain", "contracts", "node", "log", "storage", "onion", "votes", "http"})
    chain_data = _table(data, "chain")
    contracts_data = _table(data, "contracts")
    node_data = _table(data, "node")
    log_data = _table(data, "log", required=False)
    storage_data = _table(data, "storage", required=False)
    onion_data = _table(data, "onion", required=False)
    votes_data = _table(data, "votes", required=False)
    http_data = _table(data, "http", required=False)

    _only(chain_data, "chain.", {f.name for f in ChainConfig.__dataclass_fields__.values()})
    _only(contracts_data, "contracts.", {"manifest", "staking", "pro", "names", "start_block"})
    _only(
        node_data,
        "node.",
        {f.name for f in NodeSection.__dataclass_fields__.values()} - {"listen_host", "listen_port"}
        | {"listen"},
    )
    _only(log_data, "log.", {"level", "format"})
    _only(storage_data, "storage.", set(StorageConfig.__dataclass_fields__))
    _only(onion_data, "onion.", set(OnionConfig.__dataclass_fields__))
    _only(http_data, "http.", set(HttpConfig.__dataclass_fields__))

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

    def optional_path(key: str) -> Path | None:
        value = node_data.get(key)
        return _path(value, base) if value is not None else None

    node = NodeSection(
        data_dir=_path(node_data.get("data_dir", "node-data"), base),
        listen_host=host,
        listen_port=port,
        key_store=optional_path("key_store"),
        ed25519_pubkey=pubkey,
        key_file=optional_path("key_file"),
        bls_key_file=optional_path("bls_key_file"),
        key_store_password_file=optional_path("key_store_password_file"),
    )
    if node.key_store is not None and (node.key_file or node.bls_key_file):
        raise ConfigError("node: give key_store, or key_file (and bls_key_file), not both")
    if node.bls_key_file is not None and node.key_file is None:
        raise ConfigError("node.bls_key_file: needs node.key_file (the Ed25519 seed) too")
    storage = StorageConfig(
        max_bytes=_int(
            storage_data.get("max_bytes", 1 << 30), "storage.max_bytes", minimum=1 << 16
        ),
        expiry_interval=_float(
            storage_data.get("expiry_interval", 10.0), "storage.expiry_interval"
        ),
        sync_interval=_float(storage_data.get("sync_interval", 30.0), "storage.sync_interval"),
        retry_interval=_float(storage_data.get("retry_interval", 1.0), "storage.retry_interval"),
        peer_timeout=_float(storage_data.get("peer_timeout", 5.0), "storage.peer_timeout"),
    )
    onion = OnionConfig(
        max_request_bytes=_int(
            onion_data.get("max_request_bytes", 10 << 20), "onion.max_request_bytes", minimum=1024
        ),
        relay_timeout=_float(onion_data.get("relay_timeout", 30.0), "onion.relay_timeout"),
        server_relay=_flag(onion_data.get("server_relay", True), "onion.server_relay"),
        server_timeout=_float(onion_data.get("server_timeout", 25.0), "onion.server_timeout"),
        allow_private_servers=_flag(
            onion_data.get("allow_private_servers", False), "onion.allow_private_servers"
        ),
        max_server_response_bytes=_int(
            onion_data.get("max_server_response_bytes", 16 << 20),
            "onion.max_server_response_bytes",
            minimum=1024,
        ),
    )

    votes = _votes(votes_data)
    rate_limit = http_data.get("rate_limit", True)
    if not isinstance(rate_limit, bool):
        raise ConfigError(f"http.rate_limit: {rate_limit!r} is not true or false")
    http = HttpConfig(
        **{
            name: _float(http_data.get(name, getattr(HttpConfig, name)), f"http.{name}")
            for name in ("header_timeout", "body_timeout", "idle_timeout", "rate_per_second")
        },
        rate_limit=rate_limit,
        rate_burst=_int(http_data.get("rate_burst", 600), "http.rate_burst", minimum=1),
    )

    level = str(log_data.get("level", "info")).lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"log.level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    fmt = str(log_data.get("format", "text")).lower()
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"log.format: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    return NodeConfig(chain, contracts, node, level, fmt, path, storage, onion, votes, http)


def _votes(data: dict[str, Any]) -> VotesConfig:
    fields = set(VotesConfig.__dataclass_fields__)
    _only(data, "votes.", fields)
    defaults = VotesConfig()
    values: dict[str, Any] = {}
    for name in fields - {"submitter"}:
        default = getattr(defaults, name)
        value = data.get(name, default)
        key = f"votes.{name}"
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{key}: {value!r} is not true or false")
        elif isinstance(default, int):
            value = _int(value, key, minimum=0)
        else:
            value = _float(value, key)
        values[name] = value
    if values["liquidate_after"] < values["remove_after"]:
        raise ConfigError("votes.liquidate_after: must not be shorter than votes.remove_after")
    return VotesConfig(**values, submitter=_submitter(data.get("submitter")))


def _submitter(data: Any) -> SubmitterConfig | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError("votes.submitter must be a [votes.submitter] table")
    _only(data, "votes.submitter.", {"kind", "address", "alias", "passphrase_env"})
    kind = data.get("kind")
    if kind not in SUBMITTER_KINDS:
        raise ConfigError(
            f"votes.submitter.kind: {kind!r} is not one of {', '.join(SUBMITTER_KINDS)}"
        )
    if kind == "unlocked":
        if "address" not in data or set(data) - {"kind", "address"}:
            raise ConfigError('votes.submitter: kind = "unlocked" takes an address only')
        return SubmitterConfig(kind, address=_address(data["address"], "votes.submitter.address"))
    alias = data.get("alias")
    if not isinstance(alias, str) or not alias or "address" in data:
        raise ConfigError('votes.submitter: kind = "ape" takes an alias (and passphrase_env)')
    env = data.get("passphrase_env", f"APE_ACCOUNTS_{alias}_PASSPHRASE")
    if not isinstance(env, str) or not env:
        raise ConfigError("votes.submitter.passphrase_env: the name of an environment variable")
    return SubmitterConfig(kind, alias=alias, passphrase_env=env)


def _contracts(data: dict[str, Any], base: Path) -> tuple[ContractsConfig, int | None]:
    manifest_path = data.get("manifest")
    if manifest_path is not None:
        if "staking" in data or "pro" in data or "names" in data:
            raise ConfigError("contracts: give a manifest or addresses, not both")
        try:
            manifest = Manifest.read(_path(manifest_path, base))
        except ManifestError as exc:
            raise ConfigError(f"contracts.manifest: {exc}") from None
        if STAKING_CONTRACT not in manifest.contracts:
            raise ConfigError(f"contracts.manifest: {manifest.path} has no {STAKING_CONTRACT}")
        staking = manifest.contracts[STAKING_CONTRACT]
        pro = manifest.contracts.get(PRO_CONTRACT)
        names = manifest.contracts.get(NAMES_CONTRACT)
        blocks = [staking.block] + ([pro.block] if pro else [])
        start = data.get("start_block", min(blocks))
        return (
            ContractsConfig(
                staking=_address(staking.address, "manifest staking"),
                pro=_address(pro.address, "manifest pro") if pro else None,
                start_block=_int(start, "contracts.start_block", minimum=0),
                names=_address(names.address, "manifest names") if names else None,
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
            names=_address(data["names"], "contracts.names") if data.get("names") else None,
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


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} is not true or false")
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
    if number == 0:
        # Port 0 binds a random port: the node would serve where its registered endpoint
        # does not point, fail every peer test and be voted out.
        raise ConfigError(
            "node.listen: port 0 would pick a random port, not the one registered; give the "
            "port of the node's endpoint (e.g. 22021)"
        )
    if not 1 <= number <= 65535:
        raise ConfigError(f"node.listen: port {number} out of range")
    return host.strip("[]"), number
