"""What Session clients and tools ask oxend for, answered from the chain: the service-node
list (`get_service_nodes`) and Session name lookups (`ons_resolve`).

Session's storage server forwards the storage RPC method `oxend_request` (`{"endpoint":
"get_service_nodes" | "ons_resolve", "params": {...}}`) to its oxend and answers `{"result":
<oxend's result>, "t": ...}`; oxend itself serves the same methods as JSON-RPC 2.0 on
`POST /json_rpc` (seed nodes, scripts, `@session.js/ons`). Here the bridge is both: the
records come from the registry (nodes, swarms) and the SNS contract (names), and
`OxendApi` answers either way (docs/protocol.md, "oxend_request and /json_rpc").

- `get_service_nodes` (alias `get_n_service_nodes`): oxend's record format and field names
  for every registered node that is funding, serving or exiting; `active_only`, `limit`
  (a random subset), `fields` (a dict of name → bool or a list of names: only those
  fields), `service_node_pubkeys`, `poll_block_hash` (answers `unchanged` if the synced
  block is still the one given).
- `ons_resolve`: `type` 0 (Session ID) and `name_hash`; the answer is the record encrypted
  the way clients decrypt it (`sesh.protocol.ons`), or `{}` for no such live name.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiohttp import web
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from sesh.crypto.bls import PublicKey
from sesh.crypto.key_files import x25519_from_ed25519
from sesh.node.chain.registry import GONE, Node, Registry
from sesh.node.chain.rpc import RpcPool, parse_quantity
from sesh.node.chain.tracker import ChainTracker
from sesh.node.guard import request_body
from sesh.node.http import BodyIncomplete, BodyTooLarge
from sesh.node.network import INVALID_SWARM_ID
from sesh.protocol.ons import TYPE_SESSION, OnsError, encrypt_session_id, name_hash, parse_name_hash
from sesh.protocol.storage_rpc import Response

log = logging.getLogger("sesh.node.oxend")

ENDPOINTS = ("get_service_nodes", "ons_resolve")
JSON_RPC_ALIASES = {"get_n_service_nodes": "get_service_nodes"}
# JSON-RPC 2.0 error codes (the spec's).
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
JSON_RPC_MAX_BYTES = 64 << 10
# We run no OxenMQ/QUIC listener and no Lokinet: those ports are advertised as 0.
NO_PORT = 0
NAME_REGISTERED = keccak(text="NameRegistered(uint256,string,address,uint256,uint256)")


class OxendError(Exception):
    """A request oxend would refuse: bad parameters (the message says which)."""


class NameSource(Protocol):
    async def lookup(self, hashed: bytes) -> tuple[str, bytes] | None:
        """(name, Session ID) of the live name whose BLAKE2b hash is `hashed`, or None."""


def _hex_or_none(raw: bytes | None) -> str:
    return raw.hex() if raw else ""


def _x25519(ed25519: bytes) -> str:
    try:
        return x25519_from_ed25519(ed25519).hex()
    except ValueError:
        return ""


def _bls_compressed(eip2537: bytes) -> str:
    try:
        return PublicKey.from_eip2537(eip2537).to_compressed().hex()
    except Exception:  # noqa: BLE001 - a key the contract let through but we cannot read
        return ""


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """("host", port) of a registry endpoint "host:port" ("[v6]:port" too); port 0 if none."""
    host, _, port = endpoint.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = 0
    return host.strip("[]"), number


def service_node_record(
    node: Node, swarm_id: int | None, version: list[int], chain_version: list[int]
) -> dict[str, Any]:
    """One node in oxend's `get_service_nodes` record format (all fields)."""
    host, port = split_endpoint(node.endpoint)
    swarm = INVALID_SWARM_ID if swarm_id is None else swarm_id
    return {
        "service_node_pubkey": node.ed25519_pubkey.hex(),
        "pubkey_ed25519": node.ed25519_pubkey.hex(),
        "pubkey_x25519": _x25519(node.ed25519_pubkey),
        "pubkey_bls": _bls_compressed(node.bls_pubkey),
        "public_ip": host,
        # HTTPS and plain HTTP share the node's one port (TLS is told apart by its first
        # byte): Session's storage_port is the HTTPS one.
        "storage_port": port,
        "storage_lmq_port": NO_PORT,
        "quorumnet_port": NO_PORT,
        "storage_server_version": version,
        "service_node_version": chain_version,
        "swarm_id": swarm,
        "swarm": f"{swarm:016x}",
        "active": node.serving,
        "funded": node.status != "open",
        "registration_height": node.registered_block,
        "state_height": node.activated_block or node.registered_block,
        "requested_unlock_height": 0,
        "requested_unlock_time": node.exit_unlock_time or 0,
        "operator_address": node.operator,
        "operator_fee": node.fee_bps,
        "total_contributed": node.stake,
        "contributors": [
            {"address": address, "amount": amount}
            for address, amount in sorted(node.contributions.items())
        ],
        "node_id": node.node_id,
        "status": node.status,
    }


def _bool(params: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise OxendError(f"'{name}' must be true or false")
    return value


def requested_fields(value: Any) -> set[str] | None:
    """`fields` as oxend takes it (a dict of name → bool, or a list of names): the names
    asked for, or None for every field. Names we do not serve are ignored, as oxend ignores
    fields it does not know; a malformed value is refused."""
    if value is None:
        return None
    if isinstance(value, dict):
        chosen = set()
        for name, wanted in value.items():
            if not isinstance(wanted, bool):
                raise OxendError(f"fields.{name} must be true or false")
            if wanted:
                chosen.add(name)
        return None if chosen == {"all"} else chosen
    if isinstance(value, list):
        if not all(isinstance(name, str) for name in value):
            raise OxendError("fields must be a list of field names")
        return None if "all" in value else set(value)
    raise OxendError("fields must be an object of name: bool or a list of names")


def get_service_nodes(
    registry: Registry,
    params: Mapping[str, Any],
    synced_block: int,
    synced_hash: bytes | None,
    version: list[int],
    shuffle: Callable[[list], None] = random.shuffle,
) -> dict[str, Any]:
    """oxend's `get_service_nodes` answer over the registry (pure but for `shuffle`)."""
    block_hash = _hex_or_none(synced_hash)
    head = {"height": synced_block + 1, "block_hash": block_hash, "status": "OK"}
    poll = params.get("poll_block_hash")
    if poll is not None and not isinstance(poll, str):
        raise OxendError("'poll_block_hash' must be a hex string")
    if poll and block_hash and poll.lower().removeprefix("0x") == block_hash:
        return {**head, "unchanged": True}
    active_only = _bool(params, "active_only")
    limit = params.get("limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise OxendError("'limit' must be a non-negative integer")
    fields = requested_fields(params.get("fields"))
    wanted_keys = params.get("service_node_pubkeys")
    wanted: set[str] | None = None
    if wanted_keys is not None:
        if not isinstance(wanted_keys, list) or not all(isinstance(k, str) for k in wanted_keys):
            raise OxendError("'service_node_pubkeys' must be a list of hex keys")
        wanted = {k.lower() for k in wanted_keys}
    node_swarm = registry.node_swarm()
    records = []
    for node_id, node in sorted(registry.nodes.items()):
        if node.status in GONE or node.excluded is not None:
            continue
        if active_only and not node.serving:
            continue
        if wanted is not None and node.ed25519_pubkey.hex() not in wanted:
            continue
        record = service_node_record(node, node_swarm.get(node_id), version, version)
        if fields is not None:
            record = {k: v for k, v in record.items() if k in fields}
        records.append(record)
    if limit:
        shuffle(records)
        records = records[:limit]
    return {**head, "service_node_states": records}


class ChainNames:
    """Session IDs of SNS names, read from the chain: an index of name hashes built from
    `NameRegistered` events (the contract keys names by keccak, clients ask by BLAKE2b),
    then the contract's own `resolve(name)`, which already answers empty for expired
    names and names whose records were cleared on a transfer.

    A hash not in the index makes the node read the blocks since its last scan, at most
    once per `rescan_interval` seconds: asking for made-up names costs the chain RPC
    nothing more. (A name registered within that interval resolves a moment later.)"""

    def __init__(
        self,
        pool: RpcPool,
        names: str,
        start_block: int,
        max_block_range: int,
        rescan_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pool = pool
        self.address = to_checksum_address(names)
        self.max_block_range = max_block_range
        self.rescan_interval = rescan_interval
        self.clock = clock
        self._next_block = start_block
        self._by_hash: dict[bytes, str] = {}
        self._lock = asyncio.Lock()
        self._scanned_at: float | None = None

    async def _scan(self) -> None:
        async with self._lock:
            now = self.clock()
            if self._scanned_at is not None and now - self._scanned_at < self.rescan_interval:
                return
            self._scanned_at = now
            head = await self.pool.call("eth_blockNumber", [], parse_quantity)
            while self._next_block <= head:
                end = min(head, self._next_block + self.max_block_range - 1)
                logs = await self.pool.call(
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(self._next_block),
                            "toBlock": hex(end),
                            "address": [self.address],
                            "topics": [["0x" + NAME_REGISTERED.hex()]],
                        }
                    ],
                    lambda value: value,
                )
                for entry in logs:
                    try:
                        data = bytes.fromhex(str(entry["data"]).removeprefix("0x"))
                        (name, _expiry, _cost) = abi_decode(["string", "uint256", "uint256"], data)
                    except Exception:  # noqa: BLE001 - not an event of ours: skip it
                        continue
                    self._by_hash[name_hash(name)] = name
                self._next_block = end + 1

    async def resolve(self, name: str) -> bytes:
        data = keccak(text="resolve(string)")[:4] + abi_encode(["string"], [name])
        raw = await self.pool.call(
            "eth_call",
            [{"to": self.address, "data": "0x" + data.hex()}, "latest"],
            lambda value: bytes.fromhex(str(value).removeprefix("0x")),
        )
        (value,) = abi_decode(["bytes"], raw)
        return bytes(value)

    async def lookup(self, hashed: bytes) -> tuple[str, bytes] | None:
        name = self._by_hash.get(hashed)
        if name is None:
            await self._scan()
            name = self._by_hash.get(hashed)
        if name is None:
            return None
        session_id = await self.resolve(name)
        return (name, session_id) if session_id else None


class StaticNames:
    """Fixed name → Session ID records (tests)."""

    def __init__(self, records: Mapping[str, bytes]):
        self._by_hash = {name_hash(n): (n, sid) for n, sid in records.items()}

    async def lookup(self, hashed: bytes) -> tuple[str, bytes] | None:
        return self._by_hash.get(hashed)


class OxendApi:
    """`oxend_request`'s endpoints, and `POST /json_rpc` serving them as oxend does."""

    def __init__(
        self,
        tracker: ChainTracker,
        names: NameSource | None,
        version: list[int],
        shuffle: Callable[[list], None] = random.shuffle,
    ):
        self.tracker = tracker
        self.names = names
        self.version = version
        self.shuffle = shuffle

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/json_rpc", self.json_rpc)

    async def run(self, stop: asyncio.Event) -> None:
        """Nothing in the background: names are indexed when asked for."""

    async def call(self, endpoint: str, params: Any) -> dict[str, Any]:
        """oxend's `result` for `endpoint`. OxendError for a refused request."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise OxendError("params must be an object")
        if endpoint == "get_service_nodes":
            tracker = self.tracker
            async with tracker.lock:
                return get_service_nodes(
                    tracker.registry,
                    params,
                    tracker.checkpoint.number,
                    tracker.checkpoint.hash,
                    self.version,
                    self.shuffle,
                )
        if endpoint == "ons_resolve":
            return await self.ons_resolve(params)
        raise OxendError(f"Invalid oxend endpoint '{endpoint}'")

    async def ons_resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        kind = params.get("type", TYPE_SESSION)
        if not isinstance(kind, int) or isinstance(kind, bool) or not 0 <= kind <= 2:
            raise OxendError("'type' must be 0 (Session), 1 (wallet) or 2 (Lokinet)")
        try:
            hashed = parse_name_hash(params.get("name_hash"))
        except OnsError as exc:
            raise OxendError(str(exc)) from None
        if kind != TYPE_SESSION or self.names is None:
            return {}
        found = await self.names.lookup(hashed)
        if found is None:
            return {}
        name, session_id = found
        sealed, nonce = encrypt_session_id(name, session_id)
        return {"encrypted_value": sealed.hex(), "nonce": nonce.hex()}

    async def json_rpc(self, request: web.Request) -> web.Response:
        """JSON-RPC 2.0 as oxend serves it: `{"jsonrpc", "id", "method", "params"}` in,
        `{"jsonrpc": "2.0", "id", "result"}` or `{..., "error": {"code", "message"}}` out
        (HTTP 200 either way, as oxend does)."""
        try:
            body = await request_body(request, JSON_RPC_MAX_BYTES)
        except BodyTooLarge:
            return web.Response(status=413, text="Request body too large")
        except BodyIncomplete:
            return web.Response(status=400, text="Incomplete request body")
        request_id: Any = None
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return _rpc_error(None, PARSE_ERROR, "Parse error")
        if not isinstance(data, dict) or not isinstance(data.get("method"), str):
            return _rpc_error(None, INVALID_REQUEST, "Invalid Request")
        request_id = data.get("id")
        method = JSON_RPC_ALIASES.get(data["method"], data["method"])
        if method not in ENDPOINTS:
            return _rpc_error(request_id, METHOD_NOT_FOUND, "Method not found")
        try:
            result = await self.call(method, data.get("params"))
        except OxendError as exc:
            return _rpc_error(request_id, INVALID_PARAMS, str(exc))
        except Exception:  # a chain outage must not leak details
            log.exception("json_rpc %s failed", method)
            return _rpc_error(request_id, -32603, "Internal error")
        return web.json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


def _rpc_error(request_id: Any, code: int, message: str) -> web.Response:
    return web.json_response(
        {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    )


async def oxend_request(api: OxendApi | None, params: Mapping[str, Any], now: int) -> Response:
    """The storage RPC method `oxend_request`: `{"result": ..., "t": now}` as Session's
    storage server answers it, 400 with the reason for a refused request."""
    endpoint = params.get("endpoint")
    if isinstance(endpoint, bytes):
        endpoint = endpoint.decode("utf-8", "replace")
    if not isinstance(endpoint, str):
        return Response(400, "invalid request: Required field 'endpoint' missing")
    if endpoint not in ENDPOINTS:
        return Response(400, f"invalid request: Invalid oxend endpoint '{endpoint[:64]}'")
    if api is None:
        return Response(503, "oxend requests are not served by this node")
    inner = params.get("params")
    if isinstance(inner, (bytes, str)):
        # A bencoded request carries the params as JSON text (Session's rule).
        try:
            inner = json.loads(inner)
        except (ValueError, RecursionError):
            return Response(400, "oxend_request params field does not contain valid json")
    try:
        result = await api.call(endpoint, inner)
    except OxendError as exc:
        return Response(400, str(exc))
    except Exception:  # the chain RPC failed: oxend unreachable, in Session's terms
        log.exception("oxend_request %s failed", endpoint)
        return Response(502, "oxend request failed")
    return Response(200, {"result": result, "t": now})
