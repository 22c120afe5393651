"""`sesh keys` and `sesh node` / `sesh rewards` against a real anvil: each command's
success, and its refusals as one line with nothing moved."""

import json
import re

import pytest

from sesh.crypto import keystore
from sesh.crypto.node_keys import NodeKeys
from tests.cli.conftest import (
    DELEGATOR,
    NEWCOMER,
    OPERATOR,
    PASSWORD,
    SECOND_DELEGATOR,
    ok,
    one_line_error,
)

ENDPOINT = "203.0.113.7:22021"


@pytest.fixture
def node_keystore(tmp_path):
    path = tmp_path / "node-keys.json"
    keys = NodeKeys.generate()
    keystore.create(path, keys, PASSWORD)
    return path, keys


def _secrets(keys: NodeKeys) -> list[str]:
    return [bytes(keys.ed25519).hex(), keys.bls.to_bytes().hex()]


def register(sesh, path, *extra, account="TEST::1"):
    # No bridge serves ENDPOINT here: --force skips the preflight (tested on its own).
    return sesh("node", "register", "--keystore", str(path), "--endpoint", ENDPOINT,
                "--account", account, "--force", *extra)  # fmt: skip


def test_keys_new__prints_the_public_keys_and_writes_no_secret(sesh, tmp_path):
    out = ok(sesh("keys", "new", "--keystore", str(tmp_path / "mine.json")))
    keys = keystore.open_keys(tmp_path / "mine.json", PASSWORD)
    assert f"node id         {keys.node_id_hex}" in out
    assert keys.bls_pubkey.to_compressed().hex() in out
    text = (tmp_path / "mine.json").read_text()
    for secret in _secrets(keys):
        assert secret not in out and secret not in text
    assert (tmp_path / "mine.json").stat().st_mode & 0o077 == 0
    shown = ok(sesh("keys", "show", "--keystore", str(tmp_path / "mine.json"), "--check"))
    assert keys.node_id_hex in shown and "opened with its password" in shown


def test_keys__wrong_password_or_existing_file__are_one_line_errors(sesh, node_keystore):
    path, _ = node_keystore
    error = one_line_error(sesh("keys", "show", "--keystore", str(path), "--check",
                                env={"SESH_KEYSTORE_PASSWORD": "not-the-password"}))  # fmt: skip
    assert "wrong password, or the file was altered" in error
    before = path.read_text()
    assert "exists" in one_line_error(sesh("keys", "new", "--keystore", str(path)))
    assert path.read_text() == before


def test_keystore__edited_public_key__refuses_to_open(node_keystore):
    path, _ = node_keystore
    document = json.loads(path.read_text())
    document["ed25519_pubkey"] = "11" * 32
    path.write_text(json.dumps(document))
    with pytest.raises(keystore.KeystoreError, match="altered"):
        keystore.open_keys(path, PASSWORD)


def test_node_register__with_delegators__activates_and_rewards_are_claimed(
    sesh, node_keystore, devchain
):
    path, keys = node_keystore
    outputs = []
    outputs.append(ok(register(sesh, path, "--fee", "5", "--stake", "12500",
                               "--reserve", f"{DELEGATOR}=5000")))  # fmt: skip
    assert "node id 1: open, stake 12,500 SESH of 25,000 SESH" in outputs[-1]
    assert devchain.sesh_balance(OPERATOR) == (100_000 - 12_500) * 10**9
    outputs.append(ok(sesh("node", "contribute", "1", "5000", "--account", "TEST::2")))
    outputs.append(ok(sesh("node", "contribute", "1", "7500", "--account", "TEST::3")))
    assert "node 1: active, stake 25,000 SESH of 25,000 SESH" in outputs[-1]
    status = ok(sesh("node", "status", "1"))
    assert "active" in status and "5 %" in status and SECOND_DELEGATOR in status
    devchain.advance(86_400)
    outputs.append(ok(sesh("rewards", "distribute")))
    shown = ok(sesh("rewards", "show", "--account", "TEST::2"))
    assert "1    │ active" in shown or "│ 1 " in shown
    before = devchain.sesh_balance(DELEGATOR)
    outputs.append(ok(sesh("rewards", "claim", "--account", "TEST::2")))
    assert devchain.sesh_balance(DELEGATOR) > before
    for output in outputs + [status, shown]:
        for secret in _secrets(keys):
            assert secret not in output


def test_node_register__dry_run__prints_the_transaction_and_sends_nothing(
    sesh, node_keystore, devchain
):
    path, _ = node_keystore
    out = ok(register(sesh, path, "--dry-run"))
    flat = re.sub(r"[\s│]+", "", out)  # the table folds long calls over lines
    assert "register_node_with_permit(ed25519_pubkey=0x" in flat and "ServiceNodeStaking" in out
    # Amounts labelled in SESH beside base units; the permit's fields before it is signed;
    # the gas and its cost against the sender's ETH.
    assert "operator_stake=25,000SESH(25000000000000baseunits)" in flat
    assert "permit to sign (EIP-2612, for the operator stake): spender 0x" in out
    assert "amount 25,000 SESH" in out and "deadline 20" in out
    assert "gas limit" in out and "ETH (the sender holds" in out
    assert "would succeed (nothing sent)" in out
    assert devchain.node_count() == 0
    assert devchain.sesh_balance(OPERATOR) == 100_000 * 10**9


def test_node_register__insufficient_balance__is_one_line_and_moves_nothing(
    sesh, node_keystore, devchain
):
    path, _ = node_keystore
    error = one_line_error(register(sesh, path, account="TEST::9"))
    assert f"insufficient balance: {NEWCOMER} holds 0 SESH" in error
    assert "needs 25,000 SESH" in error
    assert devchain.node_count() == 0


def test_node_register__stake_below_a_quarter__is_refused(sesh, node_keystore, devchain):
    path, _ = node_keystore
    error = one_line_error(register(sesh, path, "--stake", "6000"))
    assert "staking: operator stake < 25%" in error and "6,250 SESH" in error
    assert devchain.sesh_balance(OPERATOR) == 100_000 * 10**9


def test_node_contribute__to_an_active_node__says_it_is_not_open(sesh, node_keystore, devchain):
    path, _ = node_keystore
    ok(register(sesh, path))
    before = devchain.sesh_balance(DELEGATOR)
    error = one_line_error(sesh("node", "contribute", "1", "1000", "--account", "TEST::2"))
    assert error == "Error: staking: node not open (node 1 is active)"
    assert devchain.sesh_balance(DELEGATOR) == before


def test_node_contribute__below_the_minimum__is_refused(sesh, node_keystore, devchain):
    path, _ = node_keystore
    ok(register(sesh, path, "--stake", "12500"))
    error = one_line_error(sesh("node", "contribute", "1", "100", "--account", "TEST::2"))
    assert error == "Error: staking: below min contribution: 1,388.888888889 SESH"
    assert devchain.sesh_balance(DELEGATOR) == 100_000 * 10**9


def test_node_withdraw__after_a_day__returns_the_contribution(sesh, node_keystore, devchain):
    path, _ = node_keystore
    ok(register(sesh, path, "--stake", "12500"))
    ok(sesh("node", "contribute", "1", "5000", "--account", "TEST::2"))
    devchain.advance(86_400)
    ok(sesh("node", "withdraw", "1", "--account", "TEST::2"))
    assert devchain.sesh_balance(DELEGATOR) == 100_000 * 10**9


def test_node_withdraw__too_early__is_one_line_and_moves_nothing(sesh, node_keystore, devchain):
    path, _ = node_keystore
    ok(register(sesh, path, "--stake", "12500"))
    ok(sesh("node", "contribute", "1", "5000", "--account", "TEST::2"))
    before = devchain.sesh_balance(DELEGATOR)
    error = one_line_error(sesh("node", "withdraw", "1", "--account", "TEST::2"))
    assert error == "Error: staking: withdrawal too early"
    assert devchain.sesh_balance(DELEGATOR) == before


def test_node_cancel__by_a_delegator__is_refused__by_the_operator__refunds(
    sesh, node_keystore, devchain
):
    path, _ = node_keystore
    ok(register(sesh, path, "--stake", "12500"))
    error = one_line_error(sesh("node", "cancel", "1", "--account", "TEST::2"))
    assert error == "Error: staking: not the operator"
    ok(sesh("node", "cancel", "1", "--account", "TEST::1"))
    assert "cancelled" in ok(sesh("node", "status", "1"))
    ok(sesh("rewards", "claim", "--account", "TEST::1"))
    assert devchain.sesh_balance(OPERATOR) == 100_000 * 10**9


def test_node_exit__requested_on_an_active_node__and_refused_on_an_open_one(
    sesh, node_keystore, tmp_path
):
    path, _ = node_keystore
    ok(register(sesh, path))
    out = ok(sesh("node", "exit", "1", "--account", "TEST::1"))
    assert "stakes unlock at" in out
    assert "exiting" in ok(sesh("node", "status", "1"))
    error = one_line_error(sesh("node", "exit", "1", "--finalize", "--account", "TEST::1"))
    assert error == "Error: staking: exit delay not over"
    other = tmp_path / "other.json"
    keystore.create(other, NodeKeys.generate(), PASSWORD)
    ok(register(sesh, other, "--stake", "12500"))
    error = one_line_error(sesh("node", "exit", "2", "--account", "TEST::1"))
    assert error == "Error: staking: node not active"


def test_node_set_endpoint__by_the_operator_only(sesh, node_keystore):
    path, _ = node_keystore
    ok(register(sesh, path))
    ok(sesh("node", "set-endpoint", "1", "198.51.100.4:22021", "--account", "TEST::1"))
    error = one_line_error(
        sesh("node", "set-endpoint", "1", "198.51.100.5:22021", "--account", "TEST::2")
    )
    assert error == "Error: staking: not the operator"
    error = one_line_error(sesh("node", "set-endpoint", "1", "x:1", "--account", "TEST::1"))
    assert "x is neither an IPv4 address nor a full DNS name" in error


def test_rewards_claim__with_nothing_to_claim__is_one_line(sesh, node_keystore):
    path, _ = node_keystore
    ok(register(sesh, path))
    error = one_line_error(sesh("rewards", "claim", "--account", "TEST::1"))
    assert error == "Error: staking: nothing to claim"
    error = one_line_error(sesh("rewards", "claim", "--account", "TEST::4"))
    assert "has no stake in any node" in error


def test_node_register__endpoint_not_serving_or_keys_on_chain__refused_unless_forced(
    sesh, node_keystore, devchain
):
    path, keys = node_keystore
    refused = one_line_error(sesh("node", "register", "--keystore", str(path), "--endpoint",
                                  ENDPOINT, "--account", "TEST::1"))  # fmt: skip
    assert f"{ENDPOINT} does not serve GET /info" in refused and "sesh node run" in refused
    assert devchain.node_count() == 0
    ok(register(sesh, path, "--stake", "12500"))
    # The same keys from another account: the chain would take them, the bridges not.
    duplicate = one_line_error(sesh("node", "register", "--keystore", str(path), "--endpoint",
                                    ENDPOINT, "--account", "TEST::2"))  # fmt: skip
    assert "node 1 has this Ed25519 key" in duplicate and "node 1 has this BLS key" in duplicate
    assert devchain.node_count() == 1
    forced = register(sesh, path, "--stake", "12500", account="TEST::2")
    ok(forced)
    assert "Warning: --force: node 1 has this Ed25519 key" in forced.stderr
    assert "vote this node out" in forced.stderr
    assert devchain.node_count() == 2
    status = ok(sesh("node", "status", "2"))
    assert "node 1 registered this Ed25519 key first" in status
    assert "registered this" not in ok(sesh("node", "status", "1"))


def test_node_register__malformed_endpoint_or_reservation__one_line_and_nothing_sent(
    sesh, node_keystore, devchain
):
    path, _ = node_keystore
    error = one_line_error(sesh("node", "register", "--keystore", str(path), "--endpoint",
                                "999.1.1.1:99999", "--account", "TEST::1", "--force"))  # fmt: skip
    assert "port '99999' is not 1 to 65535" in error
    wrong_checksum = DELEGATOR[:-1] + ("c" if DELEGATOR[-1] == "C" else "C")
    error = one_line_error(register(sesh, path, "--stake", "12500", "--reserve",
                                    f"{wrong_checksum}=5000"))  # fmt: skip
    assert "wrong EIP-55 checksum" in error
    assert devchain.node_count() == 0
