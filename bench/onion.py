"""Onion routing and message storage speed.

1. Onion round trips in process, per cipher: a client builds a 3-hop onion for a target
   (4 layers), each of the 4 nodes parses and peels its layer, the target encrypts a
   reply and the client opens it. Baseline, measured in the same run and interleaved with
   it: only the cryptographic operations that round trip needs — 4 ephemeral key pairs,
   8 X25519 multiplications, 8 key derivations, 4 layer encryptions and 4 decryptions of
   the same sizes, the reply's encryption and decryption. Ratio = our time / bare time;
   target <= 1.5. For a small request (a signed retrieve) and the largest store (a
   76,800-byte message).
2. Store and retrieve requests per second on one node over loopback HTTP (the node's real
   storage service and SQLite database, in its own process; a client with 32 concurrent
   keep-alive connections in this one), against a bare aiohttp handler (read the body,
   answer a small JSON) served and loaded the same way. Ratio = ours / bare; target >= 0.5.

    python bench/onion.py        (or: make bench)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from nacl.bindings import crypto_box_keypair, crypto_scalarmult, crypto_sign_open  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402

from bench.common import environment, ratio, update_readme_section, write_results  # noqa: E402
from sesh.devnet.chain import free_port  # noqa: E402
from sesh.protocol.accounts import AccountKeys
from sesh.protocol.onion import (  # noqa: E402
    AES_GCM,
    XCHACHA20,
    Hop,
    Relay,
    build_onion,
    encrypt_reply,
    open_layer,
    open_reply,
    parse_request,
    peel,
    seal,
    unseal,
)
from sesh.protocol.storage_rpc import message_hash  # noqa: E402
from tests.node.localnet import LocalNet, identity_for  # noqa: E402

ROUND_TRIPS = 400
RUNS = 9
CONCURRENCY = 32
HTTP_SECONDS = 2.0
HTTP_ROUNDS = 6
NODES = [identity_for(f"bench-{i}") for i in range(4)]


def sample_payloads() -> dict[str, bytes]:
    user = AccountKeys.generate()
    now = int(time.time() * 1000)
    retrieve = {
        "method": "retrieve",
        "params": {
            "pubkey": user.session_id,
            "pubkey_ed25519": user.ed25519_pubkey.hex(),
            "timestamp": now,
            "signature": user.sign(b"retrieve" + str(now).encode()),
        },
    }
    store = {
        "method": "store",
        "params": {
            "pubkey": user.session_id,
            "timestamp": now,
            "ttl": 3_600_000,
            "data": base64.b64encode(os.urandom(76_800)).decode(),
        },
    }
    return {
        "small (signed retrieve)": json.dumps(retrieve).encode(),
        "large (76,800-byte store)": json.dumps(store).encode(),
    }


REPLY = json.dumps({"status": 200, "body": json.dumps({"messages": [], "more": False})}).encode()


def ours(enc_type: str, payload: bytes) -> float:
    """Seconds for ROUND_TRIPS full round trips."""
    hops = [Hop(n.ed25519_pubkey, n.x25519_pubkey) for n in NODES]
    started = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        built = build_onion(hops[:3], hops[3], payload, enc_type)
        body = built.body
        for node in NODES:
            request = parse_request(body)
            peeled = peel(request, node.x25519_secret, node.x25519_pubkey)
            if isinstance(peeled.step, Relay):
                body = peeled.step.envelope(request.hop_no + 1)
        assert open_reply(built, encrypt_reply(peeled, REPLY)) == REPLY
    return time.perf_counter() - started


def layer_sizes(enc_type: str, payload: bytes) -> list[int]:
    """The plaintext size of each layer of a real onion (target first)."""
    hops = [Hop(n.ed25519_pubkey, n.x25519_pubkey) for n in NODES]
    body = build_onion(hops[:3], hops[3], payload, enc_type).body
    sizes = []
    for node in NODES:
        request = parse_request(body)
        plaintext, _ = open_layer(request, node.x25519_secret, node.x25519_pubkey)
        sizes.append(len(plaintext))
        peeled = peel(request, node.x25519_secret, node.x25519_pubkey)
        if isinstance(peeled.step, Relay):
            body = peeled.step.envelope(1)
    return sizes[::-1]


def derive(enc_type: str, shared: bytes, a: bytes, b: bytes) -> bytes:
    if enc_type == AES_GCM:
        return hmac.new(b"LOKI", shared, hashlib.sha256).digest()
    return hashlib.blake2b(shared + a + b, digest_size=32).digest()


def bare(enc_type: str, sizes: list[int]) -> float:
    """Seconds for ROUND_TRIPS round trips' worth of bare crypto on the same sizes."""
    plaintexts = [os.urandom(n) for n in sizes]
    node_keys = [(n.x25519_secret, n.x25519_pubkey) for n in NODES[::-1]]
    started = time.perf_counter()
    for _ in range(ROUND_TRIPS):
        sealed = []
        for plaintext, (_, node_public) in zip(plaintexts, node_keys, strict=True):
            public, secret = crypto_box_keypair()
            key = derive(enc_type, crypto_scalarmult(secret, node_public), public, node_public)
            sealed.append((public, seal(enc_type, key, plaintext)))
        for (public, ciphertext), (node_secret, node_public) in zip(sealed, node_keys, strict=True):
            key = derive(enc_type, crypto_scalarmult(node_secret, public), public, node_public)
            unseal(enc_type, key, ciphertext)
        unseal(enc_type, key, seal(enc_type, key, REPLY))
    return time.perf_counter() - started


def measure_onion() -> list[dict]:
    results = []
    for label, payload in sample_payloads().items():
        for enc_type in (AES_GCM, XCHACHA20):
            sizes = layer_sizes(enc_type, payload)
            ours_t, bare_t = [], []
            for _ in range(RUNS):
                ours_t.append(ours(enc_type, payload))
                bare_t.append(bare(enc_type, sizes))
            best_ours, best_bare = min(ours_t), min(bare_t)
            results.append(
                {
                    "payload": label,
                    "payload_bytes": len(payload),
                    "enc_type": enc_type,
                    "round_trips_per_s": round(ROUND_TRIPS / best_ours, 1),
                    "bare_crypto_per_s": round(ROUND_TRIPS / best_bare, 1),
                    # Each run of ours against the bare run right after it (same load).
                    "cost_ratio": round(
                        statistics.median(o / b for o, b in zip(ours_t, bare_t, strict=True)), 3
                    ),
                    "ratio_of_best": ratio(best_ours, best_bare),
                    "target_ratio": 1.5,
                }
            )
            print(results[-1])
    return results


# ----- HTTP


# The cores this bench may use, read before any process pins itself: a server forked from
# the pinned client inherits the client's single core, so `pin` must not read it there.
CORES = sorted(os.sched_getaffinity(0))


def pin(core: int) -> None:
    """Keep this process on one core (the server on one, the client on the other), so the
    client woken by a response never preempts the server on its core."""
    if len(CORES) < 2:
        return
    wanted = {CORES[core % len(CORES)]}
    os.sched_setaffinity(0, wanted)
    placed = os.sched_getaffinity(0)
    if placed != wanted:
        raise RuntimeError(f"could not pin to core {core}: on {sorted(placed)}")


def serve(mode: str, port: int, directory: str, ready) -> None:
    """The server process: the node's storage service, or the bare handler (optionally
    verifying one fixed Ed25519 signature per request)."""
    pin(1)

    async def main() -> None:
        if mode in ("bare", "bare+verify"):
            signer = SigningKey(hashlib.sha256(b"bench").digest())
            message = b"retrieve1700000000000"
            signed = signer.sign(message).signature + message
            verify_key = bytes(signer.verify_key)

            async def handler(request: web.Request) -> web.Response:
                await request.read()
                if mode == "bare+verify":
                    crypto_sign_open(signed, verify_key)
                return web.json_response({"status": "ok"})

            app = web.Application()
            app.router.add_post("/storage_rpc/v1", handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        else:
            # One node, its own swarm: every account is its own.
            await LocalNet(Path(directory), 1, ports=[port]).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def load(url: str, bodies: Iterator[bytes], seconds: float) -> float:
    """Requests per second with CONCURRENCY workers taking bodies from `bodies` (shared, so
    stores stay new messages until the list wraps)."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    counter = {"done": 0, "failed": 0}
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.post(url, data=next(bodies)) as response:
                await response.read()
                if response.status != 200:
                    counter["failed"] += 1

        for _ in range(CONCURRENCY):  # warm up the connections
            await one()
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def worker() -> None:
            while time.perf_counter() < deadline:
                await one()
                counter["done"] += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    if counter["failed"]:
        raise RuntimeError(f"{counter['failed']} requests failed")
    return counter["done"] / elapsed


def store_body(user: AccountKeys, data: bytes, now: int) -> bytes:
    params = {
        "pubkey": user.session_id,
        "timestamp": now,
        "ttl": 3_600_000,
        "data": base64.b64encode(data).decode(),
    }
    return json.dumps({"method": "store", "params": params}).encode()


def signed_retrieves(user: AccountKeys, count: int, **extra) -> list[bytes]:
    """Retrieves each freshly signed, as clients poll (a different timestamp each, all
    valid for the next minute)."""
    now = int(time.time() * 1000)
    bodies = []
    for i in range(count):
        params = {
            "pubkey": user.session_id,
            "pubkey_ed25519": user.ed25519_pubkey.hex(),
            "timestamp": now + i,
            "signature": user.sign(b"retrieve" + str(now + i).encode()),
            **extra,
        }
        bodies.append(json.dumps({"method": "retrieve", "params": params}).encode())
    return bodies


def run_server(mode: str, directory: str) -> tuple[multiprocessing.Process, str]:
    port = free_port()
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=serve, args=(mode, port, directory, ready))
    process.start()
    if not ready.wait(60):
        process.terminate()
        raise RuntimeError(f"{mode} server did not start")
    return process, f"http://127.0.0.1:{port}/storage_rpc/v1"


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_http() -> dict:
    """The servers run side by side and the loads alternate in short windows (bare, store,
    retrieve, poll, bare + one signature check), so each window's ratio compares figures
    taken under the same machine load. Reported: the median ratio over the rounds, the
    best rates, and each server's CPU time per request (what the ratio is made of)."""
    pin(0)
    writer, poller = AccountKeys.generate(), AccountKeys.generate()
    now = int(time.time() * 1000)
    stores = [store_body(writer, os.urandom(200), now) for _ in range(40_000)]
    poll_data = [os.urandom(200) for _ in range(10)]
    last = message_hash(bytes.fromhex(poller.session_id), 0, poll_data[-1])
    # Stores continue where the last window stopped (each a new message); signed requests
    # are made just before their window (signatures last a minute).
    next_store = itertools.cycle(stores)
    sources = {
        "bare": lambda: itertools.cycle(stores),
        "store": lambda: next_store,
        "retrieve": lambda: itertools.cycle(signed_retrieves(writer, 5_000, max_count=10)),
        "poll": lambda: itertools.cycle(signed_retrieves(poller, 5_000, last_hash=last)),
        "bare+verify": lambda: itertools.cycle(stores),
    }
    kinds = list(sources)
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as directory:
        servers = {
            "bare": run_server("bare", directory),
            "node": run_server("node", f"{directory}/node"),
            "bare+verify": run_server("bare+verify", directory),
        }
        try:
            # The poll account's messages, stored once.
            poll_stores = [store_body(poller, d, now) for d in poll_data]
            asyncio.run(load(servers["node"][1], itertools.cycle(poll_stores), 0.2))
            for _ in range(HTTP_ROUNDS):
                for kind in kinds:
                    server, url = servers[kind if kind.startswith("bare") else "node"]
                    bodies = sources[kind]()
                    before = server_cpu(server.pid)
                    rate = asyncio.run(load(url, bodies, HTTP_SECONDS))
                    used = server_cpu(server.pid) - before
                    rates[kind].append(rate)
                    cpu[kind].append(used / (rate * HTTP_SECONDS) * 1e6)
                print({k: round(v[-1]) for k, v in rates.items()})
        finally:
            for server, _ in servers.values():
                server.terminate()
                server.join()
    ratios = {
        k: statistics.median(r / b for r, b in zip(rates[k], rates["bare"], strict=True))
        for k in kinds[1:]
    }
    return {
        "concurrency": CONCURRENCY,
        "seconds_per_window": HTTP_SECONDS,
        "rounds": HTTP_ROUNDS,
        "best_per_s": {k: round(max(v)) for k, v in rates.items()},
        "median_ratio": {k: round(v, 3) for k, v in ratios.items()},
        "server_cpu_us_per_request": {k: round(statistics.median(v)) for k, v in cpu.items()},
        "rates": {k: [round(x) for x in v] for k, v in rates.items()},
        "target_ratio": 0.5,
    }


def main() -> None:
    results = {"environment": environment(), "cpus": os.cpu_count()}
    results["onion"] = measure_onion()
    results["http"] = measure_http()
    path = write_results("onion", results)
    h = results["http"]
    rows = [
        f"| {r['payload']}, {r['enc_type']} | {r['round_trips_per_s']:,.0f}/s | "
        f"{r['bare_crypto_per_s']:,.0f}/s | {r['cost_ratio']:.2f} | <= 1.5 |"
        for r in results["onion"]
    ]
    labels = {
        "store": "store over HTTP (200-byte message)",
        "retrieve": "retrieve over HTTP (10 messages of 200 bytes)",
        "poll": "retrieve over HTTP, a poll with nothing new (`last_hash`)",
    }
    for kind, label in labels.items():
        rows.append(
            f"| {label} | {h['best_per_s'][kind]:,}/s | {h['best_per_s']['bare']:,}/s | "
            f"{h['median_ratio'][kind]:.2f} | >= 0.5 |"
        )
    rows.append(
        f"| (for scale) the bare handler verifying one Ed25519 signature, as every signed "
        f"retrieve must | {h['best_per_s']['bare+verify']:,}/s | {h['best_per_s']['bare']:,}/s | "
        f"{h['median_ratio']['bare+verify']:.2f} | |"
    )
    cpu = h["server_cpu_us_per_request"]
    table = f"""Onion routing and storage, measured {results["environment"]["date"]} on
{results["cpus"]} CPUs (onion: {RUNS} runs of {ROUND_TRIPS} round trips interleaved with the
baseline, best rates; HTTP: {CONCURRENCY} connections, {HTTP_ROUNDS} rounds of
{HTTP_SECONDS:.0f}-second windows alternating the bare handler and each request kind; best
rates, median ratio of the rounds). Server CPU per request: bare {cpu["bare"]} µs,
store {cpu["store"]} µs, retrieve {cpu["retrieve"]} µs, poll {cpu["poll"]} µs, bare handler
verifying one signature {cpu["bare+verify"]} µs. Onion ratio: the median over the runs of
each run's time against the bare run next to it.

| what | ours | baseline | ratio | target |
|---|---:|---:|---:|---|
"""
    table += "\n".join(rows) + "\n"
    update_readme_section("onion", table)
    print(table)
    print(f"written {path}")


if __name__ == "__main__":
    main()
