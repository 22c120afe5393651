"""A serving node as peers and clients address it: its keys, its endpoint and its swarm."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeInfo:
    """A serving node as peers and clients address it."""

    node_id: int
    ed25519: bytes
    x25519: bytes
    endpoint: str
    swarm_id: int | None

    @property
    def host(self) -> str:
        return self.endpoint.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        try:
            return int(self.endpoint.rpartition(":")[2])
        except ValueError:
            return 0

    @property
    def url(self) -> str:
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def to_json(self) -> dict:
        """A node in Session's `get_swarm` shape (and our node id)."""
        return {
            "pubkey_ed25519": self.ed25519.hex(),
            "pubkey_x25519": self.x25519.hex(),
            "ip": self.host,
            "port": str(self.port),
            # HTTPS shares the node's one port (sesh.node.tls); no OxenMQ/QUIC port: 0.
            "port_https": self.port,
            "port_omq": 0,
            "node_id": self.node_id,
        }
