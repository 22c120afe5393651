"""`sesh node run` as Session clients see it: HTTPS on the node's port serving the same
routes as HTTP, oxend's `/json_rpc` over the synced registry, the HTTPS port in `/nodes`,
and the certificate made on the first start and kept across a restart."""

from __future__ import annotations

import json
import signal
import ssl
import urllib.request

from sesh.devnet.chain import free_port
from sesh.node.tls import CERT_FILE, KEY_FILE
from tests.node.test_process import (
    CONFIRMATIONS,
    get,
    start_node,
    synced_to,
    wait_for,
    write_config,
)


def https(port: int, path: str, body: bytes | None = None) -> tuple[int, dict]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=body)
    with urllib.request.urlopen(request, timeout=5, context=context) as r:
        return r.status, json.loads(r.read())


def test_process__https_json_rpc_and_a_certificate_kept_across_restarts(tmp_path, anvil, driver):
    driver.register_many(list(range(1, 6)), activate=True)
    driver.register(6)  # open: funding, listed but not active
    driver.exit(2, reason=2)
    driver.mine(CONFIRMATIONS)
    target = driver.w3.eth.block_number - CONFIRMATIONS
    port = free_port()
    config = write_config(tmp_path / "node.toml", anvil.url, driver, port)
    log = tmp_path / "node.log"
    cert_path = tmp_path / "data" / CERT_FILE
    certificates = []
    for run in range(2):
        node = start_node(config, log)
        try:
            wait_for(lambda: synced_to(port, target), 60, "the node to sync", node)
            certificates.append(cert_path.read_bytes())
            assert (tmp_path / "data" / KEY_FILE).stat().st_mode & 0o077 == 0
            served = ssl.get_server_certificate(("127.0.0.1", port)).encode()
            assert served.strip() == certificates[-1].strip()
            # The same routes over HTTPS and HTTP on one port.
            assert https(port, "/info")[1]["synced_block"] >= target
            status, nodes = get(port, "/nodes")
            assert all(
                n["port_https"] == int(n["endpoint"].rpartition(":")[2]) for n in nodes["nodes"]
            )
            request = {
                "jsonrpc": "2.0",
                "id": run,
                "method": "get_service_nodes",
                "params": {"fields": ["pubkey_ed25519", "active", "storage_port", "public_ip"]},
            }
            status, answer = https(port, "/json_rpc", json.dumps(request).encode())
            states = answer["result"]["service_node_states"]
            registry = {n["ed25519_pubkey"]: n for n in nodes["nodes"]}
            assert answer["id"] == run and len(states) == 5, "node 2 exited: not listed"
            assert sum(s["active"] for s in states) == 4
            for state in states:
                listed = registry[state["pubkey_ed25519"]]
                assert state["active"] == listed["serving"]
                assert f"{state['public_ip']}:{state['storage_port']}" == listed["endpoint"]
            node.send_signal(signal.SIGTERM)
            assert node.wait(timeout=30) == 0
        finally:
            if node.poll() is None:
                node.kill()
                node.wait()
    assert certificates[0] == certificates[1], "the restarted node shows the same certificate"
    assert log.read_text().count("made a self-signed TLS certificate") == 1
