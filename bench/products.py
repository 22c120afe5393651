"""Gas of the names and Pro operations (SessionNameService, SessionPro).

Deploys SESH, the mock feeds, the names contract and Pro on a fresh anvil (Prague) and
measures each operation a user performs: commit, register (with an approval and with a
permit), renew, set a record, transfer (with and without records to clear) and a Pro
subscription in SESH. Writes bench/results/products.json and the table in
bench/README.md.

ENS's registrar (`@ensdomains/ens-contracts`) was to be measured beside ours, compiled
with npm's solc; the npm registry reachable from this project lists no version of that
package, so the figures are ours alone (see bench/README.md).

    python bench/products.py        (or: make bench)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    Chain,
    compile_vyper,
    environment,
    update_readme_section,
    write_results,
)
from sesh.contracts.permit import permit_message  # noqa: E402
from sesh.devnet.chain import TEST_MNEMONIC, start_anvil  # noqa: E402
from sesh.rules.names import MIN_COMMITMENT_AGE, YEAR, commitment, token_id  # noqa: E402
from sesh.rules.prices import SEQUENCER_GRACE_PERIOD, USD  # noqa: E402

ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1
OPERATIONS = [
    ("deploy_names", "deploy SessionNameService"),
    ("deploy_pro", "deploy SessionPro"),
    ("commit", "commit"),
    ("register", "register a 5-character name, 1 year (approved SESH)"),
    ("register_with_permit", "register with a permit (no approval)"),
    ("renew", "renew 1 year"),
    ("set_session_id", "set the Session ID record"),
    ("transfer_with_records", "transfer (clears 3 records)"),
    ("transfer_without_records", "transfer (no records)"),
    ("subscribe_first", "Pro subscribe in SESH (new key)"),
    ("subscribe_again", "Pro subscribe in SESH (extending a key)"),
    ("grant", "Pro grant by a payment provider (key with a grant)"),
    ("revoke_later", "Pro revoke the later of two grants"),
    ("revoke_earlier", "Pro revoke the earlier grant after it"),
]


def advance(chain: Chain, seconds: int) -> None:
    chain.w3.provider.make_request("evm_increaseTime", [seconds])
    chain.w3.provider.make_request("evm_mine", [])


def measure(chain: Chain) -> dict[str, int]:
    genesis, user, buyer, pool, treasury, other = chain.keys[:6]
    w3 = chain.w3
    now = w3.eth.get_block("latest")["timestamp"]

    token_abi, token_code = compile_vyper("SessionToken.vy")
    feed_abi, feed_code = compile_vyper("mocks/MockAggregator.vy")
    seq_abi, seq_code = compile_vyper("mocks/MockSequencerUptimeFeed.vy")
    sns_abi, sns_code = compile_vyper("SessionNameService.vy")
    pro_abi, pro_code = compile_vyper("SessionPro.vy")

    token, _ = chain.deploy(genesis, token_abi, token_code, genesis.address, ZERO, ZERO)
    feed, _ = chain.deploy(genesis, feed_abi, feed_code, 8, 20 * USD // 100, "SESH / USD")
    sequencer, _ = chain.deploy(genesis, seq_abi, seq_code, now - 2 * SEQUENCER_GRACE_PERIOD)
    prices = [640 * USD, 160 * USD, 20 * USD, 5 * USD]
    sns, gas_names = chain.deploy(
        genesis, sns_abi, sns_code, token.address, pool.address, feed.address, 86_400,
        sequencer.address, prices, 100_000 * USD,
    )  # fmt: skip
    pro, gas_pro = chain.deploy(
        genesis, pro_abi, pro_code, token.address, pool.address, treasury.address,
        feed.address, 86_400, sequencer.address,
    )  # fmt: skip
    gas = {"deploy_names": gas_names, "deploy_pro": gas_pro}
    chain.call(genesis, pro.functions.set_plan(1, 30 * 86_400, 499 * USD // 100))
    for account in (user, buyer, other):
        chain.call(genesis, token.functions.transfer(account.address, 1_000_000 * 10**9))
    chain.call(user, token.functions.approve(sns.address, MAX_UINT256))
    chain.call(user, token.functions.approve(pro.address, MAX_UINT256))

    secret = b"\x42" * 32
    gas["commit"] = chain.call(
        user, sns.functions.commit(commitment("alice", user.address, YEAR, user.address, secret))
    )
    chain.call(
        other, sns.functions.commit(commitment("carol", other.address, YEAR, other.address, secret))
    )
    advance(chain, MIN_COMMITMENT_AGE)
    gas["register"] = chain.call(
        user, sns.functions.register("alice", user.address, YEAR, secret, MAX_UINT256)
    )

    cost = sns.functions.register_price("carol", YEAR).call()
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    signature = other.sign_message(
        permit_message(
            token_name="Session Token", token_version="1", chain_id=w3.eth.chain_id,
            token=token.address, owner=other.address, spender=sns.address, value=cost,
            nonce=0, deadline=deadline,
        )
    )  # fmt: skip
    gas["register_with_permit"] = chain.call(
        other,
        sns.functions.register_with_permit(
            "carol", other.address, YEAR, secret, cost, deadline, signature.v,
            signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big"),
        ),
    )  # fmt: skip
    gas["renew"] = chain.call(user, sns.functions.renew("alice", YEAR, MAX_UINT256))
    gas["set_session_id"] = chain.call(
        user, sns.functions.set_session_id("alice", b"\x05" + b"\x3f" * 32)
    )
    chain.call(
        user,
        sns.functions.set_records("alice", b"\x05" + b"\x3f" * 32, b"\x4c" * 32, user.address),
    )
    gas["transfer_with_records"] = chain.call(
        user, sns.functions.transferFrom(user.address, buyer.address, token_id("alice"))
    )
    gas["transfer_without_records"] = chain.call(
        other, sns.functions.transferFrom(other.address, buyer.address, token_id("carol"))
    )
    assert sns.functions.resolve("alice").call() == b""
    key = b"\x9a" * 32
    gas["subscribe_first"] = chain.call(
        user, pro.functions.subscribe(key, 1, token.address, MAX_UINT256)
    )
    gas["subscribe_again"] = chain.call(
        user, pro.functions.subscribe(key, 1, token.address, MAX_UINT256)
    )
    provider = buyer
    chain.call(genesis, pro.functions.set_payment_provider(provider.address, True))
    first, second = b"\x01" * 32, b"\x02" * 32
    chain.call(provider, pro.functions.grant(key, 30 * 86_400, first))
    gas["grant"] = chain.call(provider, pro.functions.grant(key, 30 * 86_400, second))
    gas["revoke_later"] = chain.call(provider, pro.functions.revoke(provider.address, second))
    gas["revoke_earlier"] = chain.call(provider, pro.functions.revoke(provider.address, first))
    return gas


def main() -> None:
    print("compiling and measuring SessionNameService and SessionPro ...", flush=True)
    with start_anvil() as anvil:
        gas = measure(Chain(anvil.url, TEST_MNEMONIC))
    results = {key: {"label": label, "gas": gas[key]} for key, label in OPERATIONS}
    data = {
        **environment(),
        "chain": "anvil 1.7.1, hardfork prague",
        "compilers": {"sesh": "vyper 0.4.3 (-O gas)"},
        "baseline": None,
        "baseline_missing_because": (
            "@ensdomains/ens-contracts lists no version on the npm registry this project "
            "reaches, so ENS's registrar cannot be built here"
        ),
        "unit": "gas used by the transaction (including the 21,000 base)",
        "operations": results,
    }
    path = write_results("products", data)
    table = "| operation | gas |\n|---|---:|\n" + "\n".join(
        f"| {label} | {gas[key]:,} |" for key, label in OPERATIONS
    )
    print(table)
    print(f"\nwritten to {path}")
    update_readme_section(
        "products",
        f"Names and Pro gas, measured {data['date']} on {data['chain']} "
        f"({data['compilers']['sesh']}):\n\n{table}",
    )


if __name__ == "__main__":
    main()
