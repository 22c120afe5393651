"""Reading commands (`node list`, `balance`, `--json`), moving SESH (`token`), and signing
with a real (keyfile) Ape account: every check before any prompt, non-interactive
unlocking as Ape does it (APE_ACCOUNTS_<alias>_PASSPHRASE) or with --passphrase-file."""

import json

from eth_account import Account

from sesh.crypto import keystore
from sesh.crypto.node_keys import NodeKeys
from tests.cli.conftest import DELEGATOR, OPERATOR, PASSWORD, ok, one_line_error

# anvil's well-known key of test account 1 (OPERATOR), imported as a keyfile account.
OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PASSPHRASE = "keyfile-passphrase"


def test_reads__open_nodes_balances_and_json(sesh, tmp_path, devchain):
    path = tmp_path / "node-keys.json"
    keystore.create(path, NodeKeys.generate(), PASSWORD)
    ok(sesh("node", "register", "--keystore", str(path), "--endpoint", "203.0.113.7:22021",
            "--account", "TEST::1", "--stake", "12500", "--fee", "5", "--force",
            "--reserve", f"{DELEGATOR}=5000"))  # fmt: skip
    listed = json.loads(ok(sesh("node", "list", "--open", "--json")))["nodes"]
    assert [n["node_id"] for n in listed] == [1]
    [node] = listed
    assert node["filled_percent"] == "50.00" and node["fee_percent"] == "5.0"
    assert node["min_contribution_sesh"] == "937.500000000"  # 7,500 public over 8 slots
    assert node["reserved_slots"] == [{"account": DELEGATOR, "reserved_sesh": "5000.000000000"}]
    table = ok(sesh("node", "list"))
    assert "50 % of 25,000 SESH" in table and "937.5 SESH" in table
    status = json.loads(ok(sesh("node", "status", "1", "--json")))
    assert status["status"] == "open" and status["stake_sesh"] == "12500.000000000"
    balance = json.loads(ok(sesh("balance", "--address", OPERATOR, "--json")))
    assert balance["sesh"] == "87500.000000000"
    assert balance["allowances_sesh"]["ServiceNodeStaking"] == "0.000000000"
    rewards = json.loads(ok(sesh("rewards", "show", "--address", DELEGATOR, "--json")))
    assert rewards["nodes"] == [] and rewards["total_rewards_sesh"] == "0.000000000"
    # Refusals with the numbers that explain them; nothing moves.
    below = one_line_error(sesh("node", "contribute", "1", "100", "--account", "TEST::3"))
    assert below == "Error: staking: below min contribution: 937.5 SESH"
    reserved = one_line_error(sesh("node", "contribute", "1", "4000", "--account", "TEST::2"))
    assert reserved.startswith("Error: staking: below reserved amount: 5,000 SESH")
    assert devchain.sesh_balance(DELEGATOR) == 100_000 * 10**9


def test_reads__bad_input__one_line_errors_and_no_traceback(sesh, tmp_path):
    assert "wrong EIP-55 checksum" in one_line_error(
        sesh("balance", "--address", DELEGATOR[:-1] + DELEGATOR[-1].swapcase())
    )
    assert "is not an address" in one_line_error(sesh("rewards", "show", "--address", "0x12"))
    assert "1<=x<=" in one_line_error(sesh("node", "status", "0"))
    assert "No such option: -1" in one_line_error(sesh("node", "status", "-1"))
    broken = tmp_path / "broken.json"
    keystore.create(broken, NodeKeys.generate(), PASSWORD)
    document = json.loads(broken.read_text())
    del document["crypto"]
    broken.write_text(json.dumps(document))
    error = one_line_error(sesh("keys", "show", "--keystore", str(broken), "--check"))
    assert "is not a complete sesh node keystore" in error and "'crypto'" in error


def test_rewards_distribute__nothing_released__refused_and_nothing_sent(sesh, devchain):
    block = devchain.rpc("eth_blockNumber")
    error = one_line_error(sesh("rewards", "distribute"))
    assert "nothing to distribute: the pool releases 0 SESH now" in error
    assert devchain.rpc("eth_blockNumber") == block


def _keyfile_account(tmp_path):
    """An Ape data folder holding OPERATOR's key as the keyfile account `operator`."""
    data = tmp_path / "ape"
    (data / "accounts").mkdir(parents=True)
    keyfile = Account.encrypt(OPERATOR_KEY, PASSPHRASE)
    (data / "accounts" / "operator.json").write_text(json.dumps(keyfile))
    return {"APE_DATA_FOLDER": str(data)}


def test_keyfile_account__passphrase_from_env_or_file__signs_without_prompting(
    sesh, tmp_path, devchain
):
    env = _keyfile_account(tmp_path)
    out = ok(sesh("token", "transfer", DELEGATOR, "12.5", "--account", "operator", input_text="",
                  env={**env, "APE_ACCOUNTS_operator_PASSPHRASE": PASSPHRASE}))  # fmt: skip
    assert "transfer 12.5 SESH" in out and "gas limit" in out and "ETH" in out
    # What the wallet will sign, in words, before it is signed.
    assert "amount=12.5 SESH (12500000000 base units)" in " ".join(out.split())
    assert devchain.sesh_balance(DELEGATOR) == 100_012_500_000_000
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    ok(sesh("token", "transfer", DELEGATOR, "1", "--account", "operator", "--passphrase-file",
            str(secret), input_text="", env=env))  # fmt: skip
    assert devchain.sesh_balance(DELEGATOR) == 100_013_500_000_000


def test_keyfile_account__wrong_passphrase_or_failed_check__refused_before_any_prompt(
    sesh, tmp_path, devchain
):
    env = _keyfile_account(tmp_path)
    wrong = tmp_path / "wrong"
    wrong.write_text("not it")
    args = ["token", "transfer", DELEGATOR, "1", "--account", "operator"]
    error = one_line_error(sesh(*args, "--passphrase-file", str(wrong), input_text="", env=env))
    assert "does not unlock account 'operator'" in error
    # No passphrase at all, and the node is not open: the check speaks before any prompt
    # (stdin is empty, so a prompt would abort instead).
    error = one_line_error(sesh("node", "contribute", "7", "5000", "--account", "operator",
                                input_text="", env=env))  # fmt: skip
    assert error == "Error: staking: unknown node 7"
    assert devchain.sesh_balance(DELEGATOR) == 100_000 * 10**9


def test_reads__over_plain_rpc__print_what_they_print_through_ape(sesh, tmp_path, devchain):
    # Read commands skip Ape (its network parsing costs 2.4 s of CPU) and read over plain
    # JSON-RPC with the shipped ABIs; SESH_READS_THROUGH_APE=1 sends them through Ape.
    path = tmp_path / "node-keys.json"
    keystore.create(path, NodeKeys.generate(), PASSWORD)
    ok(sesh("node", "register", "--keystore", str(path), "--endpoint", "203.0.113.7:22021",
            "--account", "TEST::1", "--stake", "12500", "--fee", "5", "--force",
            "--reserve", f"{DELEGATOR}=5000"))  # fmt: skip
    env = _keyfile_account(tmp_path)
    reads = [
        ("node", "status", "1", "--json"),
        ("node", "list", "--json"),
        ("node", "list"),
        ("balance", "--account", "TEST::2", "--json"),
        ("balance", "--account", "operator", "--json"),  # a keyfile account's address
        ("balance",),  # no account on a local chain: test account 0
        ("rewards", "show", "--account", "TEST::1", "--json"),
        ("pro", "plans", "--json"),
        ("names", "available", "alice", "--json"),
    ]
    for args in reads:
        plain = ok(sesh(*args, env=env))
        through_ape = ok(sesh(*args, env={**env, "SESH_READS_THROUGH_APE": "1"}))
        assert plain == through_ape, args
    assert (
        json.loads(ok(sesh("balance", "--account", "operator", "--json", env=env)))["account"]
        == OPERATOR
    )
    # A refusal reads the same either way.
    for extra in ({}, {"SESH_READS_THROUGH_APE": "1"}):
        error = one_line_error(sesh("names", "resolve", "nobody", env=extra))
        assert error == "Error: sns: 'nobody' resolves to nothing"


def test_reads__over_plain_rpc__unreachable_node_or_unknown_account__one_line_errors(sesh):
    error = one_line_error(
        sesh("node", "status", "1", "--network", "arbitrum:devnet:http://127.0.0.1:9")
    )
    assert "cannot reach the RPC node at http://127.0.0.1:9" in error
    assert "no test account TEST::-1" in one_line_error(sesh("balance", "--account", "TEST::-1"))
    assert "no account named 'nobody'" in one_line_error(sesh("balance", "--account", "nobody"))
