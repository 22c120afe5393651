"""Prometheus metrics of the bridge, rendered in the text exposition format at /metrics.

Counters end in `_total`; everything else is a gauge. Each name is documented in
`HELP` below so /metrics explains itself.
"""

from __future__ import annotations

HELP = {
    "sesh_bridge_synced_block": "last block whose events are all applied",
    "sesh_bridge_chain_head": "best head reported by the RPC providers",
    "sesh_bridge_lag_blocks": "chain head minus synced block",
    "sesh_bridge_events_applied_total": "events applied to the registry (since the data dir began)",
    "sesh_bridge_logs_rejected_total": "logs that did not decode as a known event (skipped)",
    "sesh_bridge_provider_failovers_total": "switches from one RPC provider to another",
    "sesh_bridge_provider_errors_total": "failed RPC calls (errors, timeouts, garbage answers)",
    "sesh_bridge_provider_wrong_chain_total": "providers found on the wrong chain",
    "sesh_bridge_reorgs_total": "reorgs deeper than the confirmations that were rolled back",
    "sesh_bridge_resyncs_total": "full resyncs after a reorg deeper than the kept history",
    "sesh_bridge_nodes": "registered nodes, by status",
    "sesh_bridge_swarms": "swarms",
    "sesh_bridge_pro_keys": "Pro public keys with a recorded expiry",
    "sesh_onion_requests_total": "onion requests, by outcome (relayed, served, or the error)",
    "sesh_storage_requests_total": "storage RPC requests, by method and answer status",
    "sesh_storage_messages": "messages held",
    "sesh_storage_bytes": "size of the message database",
    "sesh_storage_messages_stored_total": "new messages stored (clients, copies, catch-ups)",
    "sesh_storage_messages_retrieved_total": "messages returned by retrieve",
    "sesh_storage_messages_expired_total": "expired messages dropped",
    "sesh_storage_messages_handed_off_total": "messages handed to the swarm now holding them",
    "sesh_storage_peer_failures_total": "copies to swarm peers that got no answer",
    "sesh_storage_peer_refused_total": "node-to-node requests refused (signature, membership)",
    "sesh_peer_tests_total": "tests of peers (info and a storage round trip), by result",
    "sesh_votes_sign_requests_total": "BLS signature requests, by action and result",
    "sesh_votes_invalid_signatures_total": "signatures collected that did not verify",
    "sesh_votes_submitted_total": "network-signed transactions sent, by action and result",
}


class Metrics:
    """Counters and gauges, optionally with one label set each."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())) if labels else ())
        self._values[key] = self._values.get(key, 0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        self._values[(name, tuple(sorted(labels.items())))] = value

    def get(self, name: str, **labels: str) -> float:
        return self._values.get((name, tuple(sorted(labels.items()))), 0)

    def render(self) -> str:
        lines: list[str] = []
        names = sorted({name for name, _ in self._values})
        for name in names:
            kind = "counter" if name.endswith("_total") else "gauge"
            lines.append(f"# HELP {name} {HELP.get(name, name)}")
            lines.append(f"# TYPE {name} {kind}")
            for (n, labels), value in sorted(self._values.items()):
                if n != name:
                    continue
                label_text = ",".join(f'{k}="{v}"' for k, v in labels)
                shown = int(value) if float(value).is_integer() else value
                lines.append(f"{name}{{{label_text}}} {shown}" if labels else f"{name} {shown}")
        return "\n".join(lines) + "\n"
