"""`WebExplorer`: the page at `/`, its static files, and two JSON routes over the chain.

- `GET /web/chain`: the reward pool (balance, today's release, total released, start), the
  staking contract's figures, every open node's minimum contribution and reserved slots,
  the releases so far (one `RewardsDistributed` event each, with its block's time), the
  token's EIP-712 domain and the selectors of the calls the page makes with a wallet.
- `GET /web/account/{address}`: what a wallet holds (SESH balance, permit nonce) and
  what it may claim from each node it has a stake in (from the registry).

Reads go through the bridge's RPC pool (with its failover); the page never needs an RPC
of its own to read. 64-bit amounts are decimal strings, as in the registry API.
"""

from __future__ import annotations

import asyncio
import time
from importlib import resources
from typing import Any

from aiohttp import web
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import is_address, keccak, to_checksum_address

from sesh.node.chain.registry import OPEN
from sesh.node.chain.rpc import RpcPool, parse_quantity
from sesh.node.chain.tracker import ChainTracker

STATIC = resources.files("sesh.web") / "static"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
DISTRIBUTED = keccak(text="RewardsDistributed(uint256,uint256,uint256)")
# The calls the page makes through a wallet: the SDK's calls (sesh/contracts/staking.py).
PAGE_CALLS = (
    "contribute(uint64,uint256)",
    "contribute_with_permit(uint64,uint256,uint256,uint8,bytes32,bytes32)",
    "claim(uint64)",
    "claim_many(uint64[])",
)
NODE_VIEW = "(address,uint8,uint16,uint8,uint256,uint256,uint256,uint256,uint256,uint256,uint16,uint256,bytes)"  # noqa: E501


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def _bytes(value: Any) -> bytes:
    return bytes.fromhex(str(value).removeprefix("0x"))


class ChainReader:
    """Typed `eth_call`s on the staking contract, its token and its pool."""

    def __init__(self, pool: RpcPool, staking: str):
        self.pool = pool
        self.staking = to_checksum_address(staking)
        self._addresses: tuple[str, str] | None = None

    async def call(
        self, to: str, signature: str, in_types: list[str], args: list[Any], out: list[str]
    ) -> tuple:
        data = _bytes(selector(signature)) + abi_encode(in_types, args)
        raw = await self.pool.call(
            "eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"], _bytes
        )
        return tuple(abi_decode(out, raw))

    async def addresses(self) -> tuple[str, str]:
        """(token, pool): fixed at deployment, so read once."""
        if self._addresses is None:
            (token,) = await self.call(self.staking, "TOKEN()", [], [], ["address"])
            (pool,) = await self.call(self.staking, "POOL()", [], [], ["address"])
            self._addresses = (to_checksum_address(token), to_checksum_address(pool))
        return self._addresses

    async def staking_uint(self, name: str, *node_id: int) -> int:
        types = ["uint64"] if node_id else []
        signature = f"{name}({','.join(types)})"
        (value,) = await self.call(self.staking, signature, types, list(node_id), ["uint256"])
        return value


class WebExplorer:
    """The page's routes. A component of the bridge (sesh/node/app.py) and of
    `sesh explorer`, which runs it on a tracker of its own."""

    def __init__(
        self,
        tracker: ChainTracker,
        pool: RpcPool,
        chain_id: int,
        staking: str,
        start_block: int,
        max_block_range: int = 2_000,
        names: str | None = None,
    ):
        self.tracker = tracker
        self.chain_id = chain_id
        self.reader = ChainReader(pool, staking)
        self.pool = pool
        self.start_block = start_block
        self.max_block_range = max_block_range
        self.names = to_checksum_address(names) if names else None
        # Releases so far, and the next block to scan for more.
        self._releases: list[dict[str, Any]] = []
        self._scanned = start_block
        self._scan_lock = asyncio.Lock()

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get("/web/static/{name}", self.static)
        app.router.add_get("/web/chain", self.chain)
        app.router.add_get("/web/account/{address}", self.account)

    async def run(self, stop: asyncio.Event) -> None:
        """Nothing in the background: the chain is read when the page asks."""

    # ----- static files

    async def index(self, request: web.Request) -> web.Response:
        return self._file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if "/" in name or name.startswith(".") or not (STATIC / name).is_file():
            return web.json_response({"error": f"no such file: {name}"}, status=404)
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        suffix = name[name.rfind(".") :]
        return web.Response(
            body=(STATIC / name).read_bytes(),
            content_type=CONTENT_TYPES.get(suffix, "application/octet-stream"),
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    # ----- JSON

    async def chain(self, request: web.Request) -> web.Response:
        reader = self.reader
        try:
            token, pool = await reader.addresses()
            (balance,) = await reader.call(
                token, "balanceOf(address)", ["address"], [pool], ["uint256"]
            )
            (release,) = await reader.call(pool, "preview_release()", [], [], ["uint256"])
            (released,) = await reader.call(pool, "total_released()", [], [], ["uint256"])
            (pool_start,) = await reader.call(pool, "START()", [], [], ["uint256"])
            now = await self.pool.call(
                "eth_getBlockByNumber",
                ["latest", False],
                lambda value: parse_quantity(value["timestamp"]),
            )
            domain = await reader.call(
                token,
                "eip712Domain()",
                [],
                [],
                ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"],
            )
            figures = {
                name: str(await reader.staking_uint(name))
                for name in (
                    "staking_requirement",
                    "active_nodes",
                    "reward_per_node",
                    "undistributed",
                )
            }
            names = None
            if self.names:
                (names,) = await reader.call(self.names, "totalSupply()", [], [], ["uint256"])
            open_nodes = await self._open_nodes()
            releases = await self._scan_releases()
        except Exception as exc:  # noqa: BLE001 - any failure to read the chain is a 503
            return web.json_response({"error": f"chain unavailable: {exc}"}, status=503)
        async with self.tracker.lock:
            registry = self.tracker.registry
            distributed = registry.meta.get("rewards_distributed", 0)
            pro = sum(1 for expiry in registry.pro.values() if expiry > time.time())
        return web.json_response(
            {
                "chain_id": self.chain_id,
                "decimals": 9,
                "staking": reader.staking,
                "token": token,
                "pool": pool,
                "token_domain": {"name": domain[1], "version": domain[2], "chain_id": domain[3]},
                "pool_balance": str(balance),
                "todays_release": str(release),
                "total_released": str(released),
                "pool_start": pool_start,
                "chain_time": now,
                "rewards_distributed": str(distributed),
                "pro_subscriptions": pro,
                "names": names,
                "open_nodes": open_nodes,
                "releases": releases,
                "selectors": {call.split("(")[0]: selector(call) for call in PAGE_CALLS},
                **figures,
            }
        )

    async def account(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if not is_address(address):
            return web.json_response({"error": f"not an address: {address}"}, status=400)
        address = to_checksum_address(address)
        reader = self.reader
        async with self.tracker.lock:
            nodes = sorted(
                node_id
                for node_id, node in self.tracker.registry.nodes.items()
                if address.lower() in {a.lower() for a in node.contributions}
                or node.operator.lower() == address.lower()
            )
        try:
            token, _pool = await reader.addresses()
            (balance,) = await reader.call(
                token, "balanceOf(address)", ["address"], [address], ["uint256"]
            )
            (nonce,) = await reader.call(
                token, "nonces(address)", ["address"], [address], ["uint256"]
            )
            claimable = []
            for node_id in nodes:
                rewards, stake = await reader.call(
                    reader.staking,
                    "claimable(uint64,address)",
                    ["uint64", "address"],
                    [node_id, address],
                    ["uint256", "uint256"],
                )
                claimable.append({"node_id": node_id, "rewards": str(rewards), "stake": str(stake)})
        except Exception as exc:  # noqa: BLE001
            return web.json_response({"error": f"chain unavailable: {exc}"}, status=503)
        return web.json_response(
            {"address": address, "balance": str(balance), "nonce": str(nonce), "nodes": claimable}
        )

    async def _open_nodes(self) -> list[dict[str, Any]]:
        async with self.tracker.lock:
            ids = sorted(i for i, n in self.tracker.registry.nodes.items() if n.status == OPEN)
        reader = self.reader
        result = []
        for node_id in ids:
            (minimum,) = await reader.call(
                reader.staking, "min_contribution(uint64)", ["uint64"], [node_id], ["uint256"]
            )
            (view,) = await reader.call(
                reader.staking, "node(uint64)", ["uint64"], [node_id], [NODE_VIEW]
            )
            (accounts,) = await reader.call(
                reader.staking, "contributors(uint64)", ["uint64"], [node_id], ["address[]"]
            )
            reserved = []
            for account in accounts:
                stake, held, *_ = await reader.call(
                    reader.staking,
                    "contribution(uint64,address)",
                    ["uint64", "address"],
                    [node_id, account],
                    ["uint256", "uint256", "uint256", "uint256", "bool"],
                )
                if held and not stake:  # a named slot not yet filled
                    reserved.append(
                        {
                            "address": to_checksum_address(account),
                            "amount": str(held),
                            "staked": str(stake),
                        }
                    )
            result.append(
                {
                    "node_id": node_id,
                    "min_contribution": str(minimum),
                    "requirement": str(view[4]),
                    "total_stake": str(view[5]),
                    "contributors": int(view[6]),
                    "reserved": reserved,
                }
            )
        return result

    async def _scan_releases(self) -> list[dict[str, Any]]:
        """`RewardsDistributed` events since the last scan, each with its block's time."""
        async with self._scan_lock:
            head = await self.pool.call("eth_blockNumber", [], parse_quantity)
            while self._scanned <= head:
                end = min(head, self._scanned + self.max_block_range - 1)
                logs = await self.pool.call(
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(self._scanned),
                            "toBlock": hex(end),
                            "address": [self.reader.staking],
                            "topics": [["0x" + DISTRIBUTED.hex()]],
                        }
                    ],
                    lambda value: value,
                )
                for entry in logs:
                    block = parse_quantity(entry["blockNumber"])
                    stamp = await self.pool.call(
                        "eth_getBlockByNumber",
                        [hex(block), False],
                        lambda value: parse_quantity(value["timestamp"]) if value else None,
                    )
                    amount, active, per_node = abi_decode(
                        ["uint256", "uint256", "uint256"], _bytes(entry["data"])
                    )
                    self._releases.append(
                        {
                            "block": block,
                            "time": stamp,
                            "amount": str(amount),
                            "active_nodes": active,
                            "reward_per_node": str(per_node),
                        }
                    )
                self._scanned = end + 1
            return list(self._releases)
