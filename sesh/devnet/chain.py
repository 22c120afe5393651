"""A local Arbitrum-like chain: anvil with the Prague hardfork (EIP-2537 BLS precompiles).

Used by `make devnet`, the benchmarks and the tests that need their own chain (reorgs,
several bridges). `ape test` starts its own anvil through ape-foundry instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Arbitrum's local test-node chain id: the devnet looks like an Arbitrum chain to wallets.
DEVNET_CHAIN_ID = 412346
HARDFORK = "prague"
# The accounts every Ape test and devnet uses (anvil's default mnemonic).
TEST_MNEMONIC = "test test test test test test test test test test test junk"
REPO_ROOT = Path(__file__).resolve().parents[2]
NPM_ANVIL = REPO_ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"


class DevchainError(RuntimeError):
    """anvil could not be found or started."""


def compile_vyper(relative_path: str) -> tuple[list[dict], str]:
    """ABI and deployment bytecode of `contracts/<relative_path>`, with the venv's vyper
    (for the tools and tests that deploy with web3 rather than Ape)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vyper",
            "-f",
            "abi,bytecode",
            str(REPO_ROOT / "contracts" / relative_path),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    ).stdout.splitlines()
    return json.loads(out[0]), out[1].strip()


def find_anvil() -> str:
    """The anvil binary: on PATH (the venv's bin/ after `make setup`), else the npm copy."""
    found = shutil.which("anvil")
    if found:
        return found
    if NPM_ANVIL.exists():
        return str(NPM_ANVIL)
    raise DevchainError("anvil not found: run `make setup` (installs it from npm)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One JSON-RPC call; raises `DevchainError` on an error answer."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise DevchainError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass
class Anvil:
    """A running anvil process; stop it with `stop()` or use it as a context manager."""

    port: int
    chain_id: int
    process: subprocess.Popen
    log_path: Path | None = None
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        return rpc(self.url, method, params)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_anvil(
    port: int | None = None,
    chain_id: int = DEVNET_CHAIN_ID,
    block_time: float | None = None,
    accounts: int = 10,
    balance_eth: int = 10_000,
    log_path: Path | None = None,
    extra_args: list[str] | None = None,
    startup_timeout: float = 30.0,
) -> Anvil:
    """Start anvil (Prague) and wait until it answers JSON-RPC."""
    if port:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                # Another chain answering here would pass for ours (same chain id).
                raise DevchainError(f"port {port} is in use") from None
    port = port or free_port()
    args = [
        find_anvil(),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--hardfork", HARDFORK,
        "--mnemonic", TEST_MNEMONIC,
        "--accounts", str(accounts),
        "--balance", str(balance_eth),
    ]  # fmt: skip
    if block_time is not None:
        args += ["--block-time", str(block_time)]
    args += extra_args or []
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        args,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Own process group: Ctrl-C in the terminal reaches us, and we stop anvil cleanly.
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    anvil = Anvil(port=port, chain_id=chain_id, process=process, log_path=log_path, args=args)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevchainError(
                f"anvil exited with code {process.returncode} at start"
                + (f"; see {log_path}" if log_path else "")
            )
        try:
            if int(anvil.rpc("eth_chainId"), 16) == chain_id and process.poll() is None:
                return anvil
        except (OSError, urllib.error.URLError, DevchainError, ValueError):
            time.sleep(0.05)
    anvil.stop()
    raise DevchainError(f"anvil did not answer on port {port} within {startup_timeout:.0f}s")
