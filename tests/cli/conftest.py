"""The CLI's chain: its own anvil (devnet chain id, a free port), the suite deployed by
`ape run deploy all`, test accounts 1-8 funded; every test starts from that state
(evm_snapshot / evm_revert). Commands run as an operator runs them: `sesh ...` in a
subprocess."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_abi import encode

from sesh.deploy.manifest import Manifest
from sesh.devnet.chain import DEVNET_CHAIN_ID, start_anvil
from sesh.rules.units import UNIT

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "correct-horse-battery-staple"
# anvil's default accounts (the test mnemonic), by role.
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # TEST::1
DELEGATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # TEST::2
SECOND_DELEGATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # TEST::3
NEWCOMER = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"  # TEST::9, holds no SESH
FUNDED = [
    OPERATOR, DELEGATOR, SECOND_DELEGATOR,
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
]  # fmt: skip
SESH_EACH = 100_000


@dataclass
class Devchain:
    anvil: object
    deployments: Path
    manifest: Manifest

    @property
    def network(self) -> str:
        return f"arbitrum:devnet:{self.anvil.url}"

    def rpc(self, method, params=None):
        return self.anvil.rpc(method, params or [])

    def send(self, sender: str, to: str, signature: str, types: list, args: list) -> None:
        from eth_utils import keccak

        data = keccak(text=signature)[:4] + encode(types, args)
        tx = self.rpc(
            "eth_sendTransaction", [{"from": sender, "to": to, "data": "0x" + data.hex()}]
        )
        self.receipt(tx, signature)

    def receipt(self, tx: str, what: str) -> dict:
        """`tx`'s receipt, which must show success: anvil answers eth_sendTransaction at
        once but may mine a moment later (seen after an evm_revert), so it is waited for."""
        receipt = None
        for _ in range(100):
            receipt = self.rpc("eth_getTransactionReceipt", [tx])
            if receipt is not None:
                break
            time.sleep(0.05)
        assert receipt is not None and receipt["status"] == "0x1", f"{what} failed"
        return receipt

    def call(self, to: str, signature: str, types: list, args: list, returns: list):
        from eth_abi import decode
        from eth_utils import keccak

        data = keccak(text=signature)[:4] + encode(types, args)
        result = self.rpc("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
        return decode(returns, bytes.fromhex(result[2:]))

    def address(self, name: str) -> str:
        return self.manifest.address(name)

    def sesh_balance(self, account: str) -> int:
        token = self.address("SessionToken")
        return self.call(token, "balanceOf(address)", ["address"], [account], ["uint256"])[0]

    def node_count(self) -> int:
        staking = self.address("ServiceNodeStaking")
        return self.call(staking, "node_count()", [], [], ["uint64"])[0]

    def advance(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", [seconds])
        self.rpc("evm_mine")


def sesh_env(devchain: Devchain) -> dict:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "SESH_NETWORK": devchain.network,
        "SESH_DEPLOYMENTS_DIR": str(devchain.deployments),
        "SESH_KEYSTORE_PASSWORD": PASSWORD,
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }


@pytest.fixture(scope="session")
def devchain(tmp_path_factory):
    deployments = tmp_path_factory.mktemp("deployments")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID)
    try:
        result = subprocess.run(
            ["ape", "run", "deploy", "all", "--network", f"arbitrum:devnet:{anvil.url}",
             "--deployments-dir", str(deployments)],
            cwd=ROOT, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        chain = Devchain(anvil, deployments, Manifest.load(DEVNET_CHAIN_ID, deployments))
        for account in FUNDED:
            chain.send(
                DEPLOYER, chain.address("SessionToken"), "transfer(address,uint256)",
                ["address", "uint256"], [account, SESH_EACH * UNIT],
            )  # fmt: skip
        yield chain
    finally:
        anvil.stop()


@pytest.fixture
def chain_state(devchain):
    """Every test starts from the freshly deployed suite."""
    snapshot = devchain.rpc("evm_snapshot")
    yield devchain
    devchain.rpc("evm_revert", [snapshot])


@pytest.fixture
def sesh(chain_state, tmp_path):
    """sesh(*args) runs the CLI (from the repository, where Ape finds the project)
    against the devchain, with its keystore in `tmp_path`; returns the process."""

    def run(*args: str, input_text: str | None = None, env: dict | None = None):
        return subprocess.run(
            ["sesh", *args], cwd=ROOT,
            env={**sesh_env(chain_state), "SESH_KEYSTORE": str(tmp_path / "node-keys.json"),
                 **(env or {})},
            capture_output=True, text=True, timeout=180, input=input_text,
        )  # fmt: skip

    return run


def ok(result) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout


def one_line_error(result) -> str:
    """The single `Error: ...` line of a failed command (no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]
