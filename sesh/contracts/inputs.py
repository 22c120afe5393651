"""Checks of what goes on chain, before anything is signed: a node's endpoint, account
addresses, node ids. A value the contracts would take but nobody could use (an endpoint
no node can reach, an address with a typo) is refused here with a one-line reason.

- Endpoint: ``host:port``; host an IPv4 address or a DNS name (labels of letters,
  digits and ``-``, at least two labels, the last not all digits); port 1-65535; at most
  64 bytes (the contract's ``String[64]``). On a live chain the host must be public: no
  loopback, private, link-local or documentation address, no ``localhost``.
- Address: ``0x`` and 40 hex digits with the EIP-55 checksum (mixed case). An all-lower
  or all-upper address carries no checksum, so a typo in it cannot be caught: refused
  too, with the checksummed form to copy once checked.
- Node id: 1 to 2**64 - 1 (ids count up from 1).
"""

from __future__ import annotations

import ipaddress
import re

from sesh.contracts.base import ContractError

MAX_ENDPOINT_BYTES = 64
MAX_NODE_ID = 2**64 - 1
# Chain ids whose nodes live on this machine: loopback endpoints are fine there.
LOCAL_CHAIN_IDS = frozenset({31337, 412346})
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def is_local_chain(chain_id: int) -> bool:
    return chain_id in LOCAL_CHAIN_IDS


def check_endpoint(text: str, local: bool) -> str:
    """`text` if it is an endpoint nodes and clients can reach; else `ContractError`."""
    endpoint = text.strip()
    host, sep, port_text = endpoint.rpartition(":")
    if not sep or not host or " " in endpoint:
        raise ContractError(f"endpoint {text!r} is not host:port (e.g. 203.0.113.7:22021)")
    if len(endpoint.encode()) > MAX_ENDPOINT_BYTES:
        raise ContractError(f"endpoint {text!r} is longer than {MAX_ENDPOINT_BYTES} bytes")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65_535:
        raise ContractError(f"endpoint {text!r}: port {port_text!r} is not 1 to 65535")
    if _looks_numeric(host):
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise ContractError(f"endpoint {text!r}: {host} is not an IPv4 address") from None
        if not local and not address.is_global:
            raise ContractError(
                f"endpoint {text!r}: {host} is not a public address (nodes and clients "
                "on the Internet could not reach it)"
            )
        return endpoint
    labels = host.split(".")
    if host.lower() == "localhost":
        if local:
            return endpoint
        raise ContractError(f"endpoint {text!r}: localhost is not reachable from other nodes")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ContractError(
            f"endpoint {text!r}: {host} is neither an IPv4 address nor a full DNS name "
            "(e.g. node.example.org)"
        )
    return endpoint


def _looks_numeric(host: str) -> bool:
    return all(part.isdigit() for part in host.split(".")) or host.split(".")[-1].isdigit()


def check_address(text: str, what: str = "address") -> str:
    """`text` if it is an EIP-55 checksummed address; else `ContractError`."""
    from eth_utils import to_checksum_address

    value = text.strip()
    if not _ADDRESS.match(value):
        raise ContractError(f"{what} {text!r} is not an address (0x and 40 hex digits)")
    checksummed = to_checksum_address(value)
    if value == checksummed:
        return value
    body = value[2:]
    if body == body.lower() or body == body.upper():
        raise ContractError(
            f"{what} {value} has no EIP-55 checksum (all one case), so a typo cannot be "
            f"caught; check it, then give it as {checksummed}"
        )
    raise ContractError(f"{what} {value} has a wrong EIP-55 checksum: a typo?")


def check_node_id(node_id: int) -> int:
    if not 1 <= node_id <= MAX_NODE_ID:
        raise ContractError(f"node id {node_id} is out of range (ids count up from 1)")
    return node_id
