"""JSON-RPC over several providers: chain id checked at start, failover on errors,
timeouts, garbage answers and lag.

Every answer is validated before use (`parse_*`); an answer that does not have the
expected shape counts as a provider failure, exactly like a timeout or a refused
connection, and the call moves to the next provider. Nothing a provider says reaches the
registry unchecked.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from sesh.node.metrics import Metrics
from sesh.rules.events import RawLog

log = logging.getLogger("sesh.node.chain.rpc")
T = TypeVar("T")


class ProviderError(Exception):
    """One provider failed one call (transport error, timeout, error answer, garbage)."""


class GarbageError(ProviderError):
    """A provider answered something that is not a valid answer to the call."""


class RpcError(ProviderError):
    """A provider answered with a JSON-RPC error object."""

    def __init__(self, method: str, error: Any):
        self.error = error
        super().__init__(f"{method}: error answer {error}")


class NoProviderError(Exception):
    """No provider could answer; the message lists why each failed."""


@dataclass
class Provider:
    """One RPC endpoint and what we know about it."""

    url: str
    # None: not checked yet; True: chain id matches; False: wrong chain (never used).
    chain_ok: bool | None = None
    head: int | None = None
    failures: int = 0
    last_error: str = ""

    @property
    def name(self) -> str:
        # Never log a provider URL's path or query: API keys live there.
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: bytes
    parent_hash: bytes


class RpcPool:
    """Calls go to the current provider; on failure, to the next usable one."""

    def __init__(
        self,
        urls: Sequence[str],
        chain_id: int,
        metrics: Metrics,
        timeout: float = 10.0,
        max_lag_blocks: int = 20,
    ):
        if not urls:
            raise ValueError("at least one RPC provider is needed")
        self.providers = [Provider(url) for url in urls]
        self.chain_id = chain_id
        self.metrics = metrics
        self.timeout = timeout
        self.max_lag_blocks = max_lag_blocks
        self.current = 0
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RpcPool:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=16),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ----- one provider

    async def _request(self, provider: Provider, method: str, params: list[Any]) -> Any:
        assert self._session is not None, "RpcPool.open() first"
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        try:
            async with self._session.post(provider.url, json=body) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise ProviderError(f"{method}: no answer within {self.timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"{method}: {type(exc).__name__}: {exc}") from None
        if status != 200:
            raise ProviderError(f"{method}: HTTP {status}")
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise GarbageError(f"{method}: answer is not JSON ({raw[:60]!r})") from None
        if not isinstance(answer, dict):
            raise GarbageError(f"{method}: answer is not a JSON-RPC object")
        if "error" in answer:
            raise RpcError(method, answer["error"])
        if "result" not in answer:
            raise GarbageError(f"{method}: answer has no result")
        return answer["result"]

    async def call_one(
        self, provider: Provider, method: str, params: list[Any], parse: Callable[[Any], T]
    ) -> T:
        result = await self._request(provider, method, params)
        try:
            return parse(result)
        except (ValueError, TypeError, KeyError) as exc:
            raise GarbageError(f"{method}: invalid answer: {exc}") from None

    # ----- chain id and lag

    async def check_chain_ids(self) -> None:
        """Ask every provider not yet checked for its chain id; a wrong one is never used."""

        async def check(provider: Provider) -> None:
            try:
                chain_id = await self.call_one(provider, "eth_chainId", [], parse_quantity)
            except ProviderError as exc:
                provider.last_error = str(exc)
                log.warning("provider %s: chain id unknown: %s", provider.name, exc)
                return
            if chain_id != self.chain_id:
                provider.chain_ok = False
                provider.last_error = f"chain id {chain_id}, expected {self.chain_id}"
                log.error(
                    "provider %s is on chain %d, not %d: never used",
                    provider.name,
                    chain_id,
                    self.chain_id,
                )
                self.metrics.inc("sesh_bridge_provider_wrong_chain_total")
            else:
                provider.chain_ok = True

        await asyncio.gather(*(check(p) for p in self.providers if p.chain_ok is None))
        usable = [p for p in self.providers if p.chain_ok]
        if usable and not self.providers[self.current].chain_ok:
            self.current = self.providers.index(usable[0])

    async def refresh_heads(self) -> int:
        """Ask every usable provider for its head; switch away from the current provider if
        it lags more than `max_lag_blocks` behind the best. Returns the best head."""
        if any(p.chain_ok is None for p in self.providers):
            await self.check_chain_ids()
        usable = [p for p in self.providers if p.chain_ok]

        async def head(provider: Provider) -> None:
            try:
                provider.head = await self.call_one(provider, "eth_blockNumber", [], parse_quantity)
            except ProviderError as exc:
                provider.head = None
                provider.last_error = str(exc)

        await asyncio.gather(*(head(p) for p in usable))
        answered = [p for p in usable if p.head is not None]
        if not answered:
            raise NoProviderError(self._why_none())
        best = max(answered, key=lambda p: p.head or 0)
        current = self.providers[self.current]
        if current.head is None or best.head - current.head > self.max_lag_blocks:
            reason = (
                "no answer"
                if current.head is None
                else f"{best.head - current.head} blocks behind {best.name}"
            )
            self._switch_to(self.providers.index(best), reason)
        self.metrics.set("sesh_bridge_chain_head", best.head)
        return best.head  # type: ignore[return-value]

    def fail_over(self, reason: str) -> None:
        """Leave the current provider for the next usable one (if there is another)."""
        current = self.providers[self.current]
        current.last_error = reason
        for step in range(1, len(self.providers)):
            index = (self.current + step) % len(self.providers)
            if self.providers[index].chain_ok:
                self._switch_to(index, reason)
                return

    def _switch_to(self, index: int, reason: str) -> None:
        if index == self.current:
            return
        log.warning(
            "failover: %s -> %s (%s)",
            self.providers[self.current].name,
            self.providers[index].name,
            reason,
        )
        self.metrics.inc("sesh_bridge_provider_failovers_total")
        self.current = index

    def _why_none(self) -> str:
        return "; ".join(
            f"{p.name}: {p.last_error or ('wrong chain' if p.chain_ok is False else 'unchecked')}"
            for p in self.providers
        )

    # ----- calls with failover

    async def call(
        self,
        method: str,
        params: list[Any],
        parse: Callable[[Any], T],
        return_error_answers: bool = False,
    ) -> T:
        """`method` on the current provider, failing over through every usable provider.

        With `return_error_answers`, a JSON-RPC error answer is raised to the caller
        (`RpcError`) instead of failing over: for calls whose errors mean "ask for less",
        such as `eth_getLogs` over too many blocks."""
        if not any(p.chain_ok for p in self.providers):
            await self.check_chain_ids()
        order = [(self.current + i) % len(self.providers) for i in range(len(self.providers))]
        for index in order:
            provider = self.providers[index]
            if not provider.chain_ok:
                continue
            if index != self.current:
                self._switch_to(index, f"{self.providers[self.current].last_error}")
            try:
                result = await self.call_one(provider, method, params, parse)
            except RpcError:
                if return_error_answers:
                    raise
                provider.failures += 1
                continue
            except ProviderError as exc:
                provider.failures += 1
                provider.last_error = str(exc)
                self.metrics.inc("sesh_bridge_provider_errors_total")
                log.warning("provider %s failed: %s", provider.name, exc)
                continue
            return result
        raise NoProviderError(self._why_none())

    # ----- typed calls

    async def block_number(self) -> int:
        return await self.call("eth_blockNumber", [], parse_quantity)

    async def header(self, number: int) -> BlockHeader | None:
        return await self.call("eth_getBlockByNumber", [hex(number), False], parse_header)

    async def get_logs(
        self, from_block: int, to_block: int, addresses: Sequence[str], topics0: Sequence[bytes]
    ) -> list[RawLog]:
        params = [
            {
                "fromBlock": hex(from_block),
                "toBlock": hex(to_block),
                "address": list(addresses),
                "topics": [["0x" + t.hex() for t in topics0]],
            }
        ]

        def parse(result: Any) -> list[RawLog]:
            return parse_logs(result, from_block, to_block, addresses)

        return await self.call("eth_getLogs", params, parse, return_error_answers=True)


# ----- validation of answers: raise ValueError/TypeError/KeyError on anything unexpected


def parse_quantity(value: Any) -> int:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) > 66:
        raise ValueError(f"not a hex quantity: {value!r}")
    return int(value, 16)


def parse_data(value: Any, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"not hex data: {str(value)[:40]!r}")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise ValueError(f"expected {length} bytes, got {len(raw)}")
    return raw


def parse_header(value: Any) -> BlockHeader | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError("block is not an object")
    return BlockHeader(
        number=parse_quantity(value["number"]),
        hash=parse_data(value["hash"], 32),
        parent_hash=parse_data(value["parentHash"], 32),
    )


def parse_logs(
    value: Any, from_block: int, to_block: int, addresses: Sequence[str]
) -> list[RawLog]:
    """Validated logs, sorted by (block, log index). Anything not shaped like a log of the
    range and contracts asked for is garbage (the provider's fault, not the contract's).

    This runs for every log of a catch-up, so it checks each distinct string once (topics,
    hashes, block numbers and addresses repeat across logs) and converts nothing twice.
    """
    if not isinstance(value, list):
        raise TypeError("logs are not a list")
    wanted = {a.lower() for a in addresses}
    addresses_seen: dict[str, str] = {}
    topics_seen: dict[str, str] = {}
    words: dict[str, bytes] = {}
    numbers: dict[str, int] = {}
    hashes: dict[int, bytes] = {}
    logs = []
    last_position = (-1, -1)
    in_order = True
    for item in value:
        if type(item) is not dict:
            raise TypeError("a log is not an object")
        address_text = item["address"]
        address = addresses_seen.get(address_text)
        if address is None:
            if not isinstance(address_text, str) or address_text.lower() not in wanted:
                raise ValueError(f"log from an address not asked for: {address_text!r}")
            address = addresses_seen[address_text] = address_text.lower()
        number_text = item["blockNumber"]
        number = numbers.get(number_text)
        if number is None:
            number = numbers[number_text] = parse_quantity(number_text)
            if not from_block <= number <= to_block:
                raise ValueError(f"log of block {number} outside {from_block}..{to_block}")
        hash_text = item["blockHash"]
        block_hash = words.get(hash_text)
        if block_hash is None:
            block_hash = words[hash_text] = parse_data(hash_text, 32)
        if hashes.setdefault(number, block_hash) != block_hash:
            raise ValueError(f"two hashes for block {number}")
        raw_topics = item["topics"]
        if type(raw_topics) is not list or len(raw_topics) > 4:
            raise ValueError("topics is not a list of at most 4")
        topics = []
        for text in raw_topics:
            topic = topics_seen.get(text)
            if topic is None:
                parse_data(text, 32)
                topic = topics_seen[text] = text.lower()
            topics.append(topic)
        index = parse_quantity(item["logIndex"])
        position = (number, index)
        if position <= last_position:
            if position == last_position:
                raise ValueError(f"log {index} of block {number} twice")
            in_order = False
        last_position = position
        removed = item.get("removed", False)
        if removed is not True and removed is not False:
            raise ValueError("removed is not a bool")
        tx_text = item["transactionHash"]
        tx_hash = words.get(tx_text)
        if tx_hash is None:
            tx_hash = words[tx_text] = parse_data(tx_text, 32)
        data = item["data"]
        if type(data) is not str or data[:2] != "0x":
            raise ValueError("log data is not hex")
        logs.append(
            RawLog(
                address,
                tuple(topics),
                bytes.fromhex(data[2:]),
                number,
                block_hash,
                tx_hash,
                index,
                removed,
            )
        )
    if not in_order:
        logs.sort(key=lambda lg: (lg.block_number, lg.log_index))
        for earlier, later in zip(logs, logs[1:], strict=False):
            if (earlier.block_number, earlier.log_index) == (later.block_number, later.log_index):
                raise ValueError(f"log {later.log_index} of block {later.block_number} twice")
    return logs
