"""Drives the real contracts (SESH, RewardRatePool, BLSVerifier, ServiceNodeStaking and its
extension) on an anvil with web3, for the bridge tests that follow the real staking
contract: nodes with real Ed25519 and BLS keys, delegations, exits and network-signed
removals."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from sesh.crypto import bls
from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import compile_vyper

UNIT = 10**9
REQUIREMENT = 25_000 * UNIT
ZERO = "0x" + "00" * 20


def compile_contract(name: str) -> tuple[list[dict], str]:
    return compile_vyper(f"{name}.vy")


def node_keys(index: int) -> NodeKeys:
    return NodeKeys.from_seeds(index.to_bytes(4, "big") * 8, (index + 3).to_bytes(32, "big"))


class StakingDriver:
    """The suite deployed from anvil's first account; operators and delegators are its
    other unlocked accounts."""

    def __init__(self, url: str, artifacts: dict[str, tuple[list[dict], str]]):
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.accounts = self.w3.eth.accounts
        self.owner = self.accounts[0]
        self.keys: dict[int, NodeKeys] = {}
        token = self._deploy(artifacts["SessionToken"], self.owner, ZERO, ZERO)
        pool = self._deploy(artifacts["RewardRatePool"], token.address)
        verifier = self._deploy(artifacts["BLSVerifier"])
        extension = self._deploy(
            artifacts["ServiceNodeStakingExtension"], token.address, pool.address, verifier.address
        )
        self.staking = self._deploy(
            artifacts["ServiceNodeStaking"],
            token.address,
            pool.address,
            verifier.address,
            extension.address,
            False,
        )
        self.deploy_block = self.w3.eth.block_number
        self.token, self.pool = token, pool
        self.send(pool.functions.set_beneficiary(self.staking.address))
        self.send(token.functions.transfer(pool.address, 40_000_000 * UNIT))
        for account in self.accounts[1:]:
            self.send(token.functions.transfer(account, 1_000_000 * UNIT))
            self.send(token.functions.approve(self.staking.address, 2**256 - 1), account)

    def _deploy(self, artifact, *args):
        abi, bytecode = artifact
        tx = (
            self.w3.eth.contract(abi=abi, bytecode=bytecode)
            .constructor(*args)
            .transact({"from": self.owner})
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    def send(self, call: Any, sender: str | None = None) -> dict:
        tx = call.transact({"from": sender or self.owner, "gas": 5_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError(f"transaction reverted: {call.fn_name}")
        return receipt

    @property
    def address(self) -> str:
        return self.staking.address

    def register(
        self,
        index: int,
        operator: str,
        stake: int = REQUIREMENT,
        reserved: list[tuple[str, int]] | None = None,
        bad_ed25519_signature: bool = False,
        endpoint: str | None = None,
        keys: NodeKeys | None = None,
    ) -> int:
        keys = keys or node_keys(index)
        pubkey, sig, bls_key, pop = keys.registration_args(
            self.w3.eth.chain_id, self.address, operator
        )
        if bad_ed25519_signature:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        self.send(
            self.staking.functions.register_node(
                pubkey, sig, bls_key, pop, endpoint or f"10.0.0.{index}:22021", 500, stake,
                reserved or [],
            ),
            operator,
        )  # fmt: skip
        node_id = self.staking.functions.node_count().call()
        self.keys[node_id] = keys
        return node_id

    def contribute(self, node_id: int, account: str, amount: int) -> None:
        self.send(self.staking.functions.contribute(node_id, amount), account)

    def request_exit(self, node_id: int, operator: str) -> None:
        self.send(self.staking.functions.request_exit(node_id), operator)

    def advance(self, seconds: int) -> None:
        now = self.w3.eth.get_block("latest")["timestamp"]
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [now + seconds])
        self.w3.provider.make_request("evm_mine", [])

    def finalize_exit(self, node_id: int) -> None:
        self.send(self.staking.functions.finalize_exit(node_id))

    def remove(self, node_id: int, active: list[int], non_signers: list[int] = ()) -> None:
        timestamp = self.w3.eth.get_block("latest")["timestamp"]
        message = bls.remove_message(self.w3.eth.chain_id, self.address, node_id, timestamp)
        signers = [self.keys[i].bls for i in active if i not in non_signers]
        signature = bls.aggregate_signatures([bls.sign(k, message) for k in signers])
        self.send(
            self.staking.functions.remove_with_signature(
                node_id, timestamp, signature.to_eip2537(), sorted(non_signers)
            )
        )

    def mine(self, blocks: int = 1) -> None:
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])
