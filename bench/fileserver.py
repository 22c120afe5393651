"""Attachment transfer speed: a 10 MB file uploaded to and downloaded from the file server
through a 3-hop onion path (three nodes, the last relaying to the server), against the same
transfer straight to the file server (the same v4 request, encrypted for the server, POSTed
to its `/oxen/v4/lsrpc` with no node in between) in the same run, interleaved.

The three nodes and the file server run in one child process (one event loop, as one
machine of the network would not, but the client's own work is measured separately from
theirs); the client runs in this one. Ratio = 3-hop throughput / direct throughput.

    python bench/fileserver.py
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.common import environment, ratio, update_readme_section, write_results  # noqa: E402
from sesh.client.servers import read_answer  # noqa: E402
from sesh.devnet.chain import free_port  # noqa: E402
from sesh.protocol.lsrpc import V4Request, decode_response  # noqa: E402
from sesh.protocol.onion import (  # noqa: E402
    XCHACHA20,
    BuiltOnion,
    Hop,
    KeyPair,  # noqa: E402,F401
    Server,
    build_onion_to_server,
    layer_key,
    open_reply,
    pack,
    seal,
    shared_secret,
)

FILE_BYTES = 10_000_000
RUNS = 3
NODES = 3


def serve(directory: str, ports: list[int], fs_port: int, queue) -> None:
    from sesh.fileserver.server import FileServer, FileServerSettings
    from sesh.node.onion.relay import ServerRelaySettings
    from tests.node.localnet import LocalNet

    async def main() -> None:
        server = FileServer(
            FileServerSettings(Path(directory) / "fs", port=fs_port, max_file_size=FILE_BYTES)
        )
        stop = asyncio.Event()
        asyncio.create_task(server.run(stop))
        net = LocalNet(
            Path(directory),
            NODES,
            ports=ports,
            max_request_bytes=12 << 20,
            relay_timeout=60.0,
            server_relay=ServerRelaySettings(timeout=60.0, allow_private=True),
        )
        await net.start()
        queue.put((server.public, [n.info for n in net.nodes]))
        await asyncio.Event().wait()

    asyncio.run(main())


def direct_onion(server: Server, payload: bytes) -> BuiltOnion:
    """The request a client would send if it talked to the server itself."""
    from nacl.bindings import crypto_box_keypair

    public, secret = crypto_box_keypair()
    key = layer_key(XCHACHA20, shared_secret(secret, server.x25519), public, server.x25519)
    body = pack(
        seal(XCHACHA20, key, payload), {"ephemeral_key": public.hex(), "enc_type": XCHACHA20}
    )
    return BuiltOnion(body, key, XCHACHA20)


async def transfer(
    session: aiohttp.ClientSession, server: Server, nodes, request: V4Request, hops: bool
) -> tuple[float, int, bytes]:
    """(seconds, status, answer body) of one request, client work included."""
    started = time.perf_counter()
    payload = request.encode()
    if hops:
        built = build_onion_to_server([Hop(n.ed25519, n.x25519) for n in nodes], server, payload)
        url = f"{nodes[0].url}/onion_req/v2"
    else:
        built = direct_onion(server, payload)
        url = f"http://{server.host}:{server.port}/oxen/v4/lsrpc"
    async with session.post(url, data=built.body) as response:
        raw = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{response.status}: {raw[:200]!r}")
    answer = read_answer(built, raw) if hops else decode_response(open_reply(built, raw))
    return time.perf_counter() - started, answer.code, answer.body


async def measure(server: Server, nodes) -> dict:
    rates: dict[str, list[float]] = {
        k: [] for k in ("up_direct", "up_3hop", "down_direct", "down_3hop")
    }
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(RUNS):
            for hops, label in ((False, "direct"), (True, "3hop")):
                data = os.urandom(FILE_BYTES)
                upload = V4Request(
                    "POST", "/file", {"content-type": "application/octet-stream"}, data
                )
                seconds, code, body = await transfer(session, server, nodes, upload, hops)
                assert code == 200, body
                rates[f"up_{label}"].append(FILE_BYTES / seconds / 1e6)
                file_id = __import__("json").loads(body)["id"]
                seconds, code, body = await transfer(
                    session, server, nodes, V4Request("GET", f"/file/{file_id}"), hops
                )
                assert code == 200 and body == data
                rates[f"down_{label}"].append(FILE_BYTES / seconds / 1e6)
    return {k: [round(v, 2) for v in vs] for k, vs in rates.items()}


def main() -> None:
    ports = [free_port() for _ in range(NODES)]
    fs_port = free_port()
    queue = multiprocessing.Queue()
    with tempfile.TemporaryDirectory() as directory:
        child = multiprocessing.Process(target=serve, args=(directory, ports, fs_port, queue))
        child.start()
        try:
            public, nodes = queue.get(timeout=60)
            server = Server("127.0.0.1", fs_port, public, "http")
            rates = asyncio.run(measure(server, nodes))
        finally:
            child.terminate()
            child.join()
    results = {
        "environment": environment(),
        "cpus": os.cpu_count(),
        "file_bytes": FILE_BYTES,
        "runs": RUNS,
        "mb_per_s": rates,
        "median_mb_per_s": {k: statistics.median(v) for k, v in rates.items()},
    }
    med = results["median_mb_per_s"]
    results["ratio_upload"] = ratio(med["up_3hop"], med["up_direct"])
    results["ratio_download"] = ratio(med["down_3hop"], med["down_direct"])
    path = write_results("fileserver", results)
    up, down = results["ratio_upload"], results["ratio_download"]
    when, cpus = results["environment"]["date"], results["cpus"]
    table = f"""Attachment transfer, measured {when} on {cpus} CPUs: a {FILE_BYTES:,}-byte
file, {RUNS} runs interleaving direct and 3-hop transfers (fresh random bytes each time),
median MB/s (10^6 bytes) including the client's encryption and decryption. The three nodes
and the file server share one child process.

| transfer | direct to the file server | through 3 hops | ratio (3 hops / direct) |
|---|---:|---:|---:|
| upload (`POST /file`) | {med["up_direct"]:.1f} MB/s | {med["up_3hop"]:.1f} MB/s | {up:.2f} |
| download (`GET /file/<id>`) | {med["down_direct"]:.1f} MB/s | {med["down_3hop"]:.1f} MB/s \
| {down:.2f} |
"""
    update_readme_section("fileserver", table)
    print(table)
    print(f"written {path}")


if __name__ == "__main__":
    main()
