"""`sesh names` and `sesh pro` against a real anvil, the stale-oracle, taken-name, wrong
network, missing account and wrong-manifest errors, and `--help` with an example."""

import json
import subprocess

import pytest
from click.testing import CliRunner

from sesh.cli.main import main
from tests.cli.conftest import ROOT, ok, one_line_error, sesh_env

TEST_4 = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"

PRO_KEY = "9a" * 32
SESSION_ID = "05" + "3f" * 32


def _make_stale(devchain):
    feed = devchain.address("SeshUsdFeed")
    answer = devchain.call(feed, "answer()", [], [], ["int256"])[0]
    devchain.send(
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", feed,
        "set_round(int256,uint256,uint256)", ["int256", "uint256", "uint256"], [answer, 1, 1],
    )  # fmt: skip


def _register_name(devchain, name, account="TEST::4"):
    """`sesh names register`, moving the chain's clock past the commitment's minute."""
    process = subprocess.Popen(
        ["sesh", "names", "register", name, "--account", account],
        cwd=ROOT, env=sesh_env(devchain), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    for line in process.stdout:
        if line.startswith("waiting"):
            devchain.advance(61)
            break
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_names__available_register_set_resolve_renew(sesh, chain_state):
    assert "alice: available, 80 SESH for 1 year(s)" in ok(sesh("names", "available", "alice"))
    code, out, err = _register_name(chain_state, "alice")
    assert code == 0, out + err
    assert "alice: yours until" in out
    taken = json.loads(ok(sesh("names", "available", "alice", "--json")))
    assert taken["available"] is False and taken["owner"] == TEST_4 and taken["expiry"] > 0
    ok(sesh("names", "set", "alice", "--session-id", SESSION_ID, "--account", "TEST::4"))
    assert json.loads(ok(sesh("names", "resolve", "alice", "--json")))["session_id"].endswith(
        SESSION_ID
    )
    assert "alice: expires" in ok(sesh("names", "renew", "alice", "--account", "TEST::5"))


def test_names_register__a_taken_name__is_one_line(sesh, chain_state):
    assert _register_name(chain_state, "alice")[0] == 0
    error = one_line_error(sesh("names", "register", "alice", "--account", "TEST::5"))
    assert error == "Error: sns: name 'alice' is taken"


def test_names__invalid_name_and_unresolved_name__are_one_line(sesh):
    assert "name has a character not in a-z 0-9 -" in one_line_error(
        sesh("names", "available", "al_ice")
    )
    assert "resolves to nothing" in one_line_error(sesh("names", "resolve", "nobody"))


def test_names_available__stale_oracle__is_one_line(sesh, chain_state):
    _make_stale(chain_state)
    error = one_line_error(sesh("names", "available", "alice"))
    assert error.startswith("Error: price_feed: answer is stale (")


def test_pro__plans_subscribe_status(sesh, chain_state):
    plans = ok(sesh("pro", "plans"))
    assert "4.99" in plans and "49.99" in plans and "19.96 SESH" in plans
    listed = json.loads(ok(sesh("pro", "plans", "--json")))["plans"]
    assert [(p["plan"], p["usd"], p["sesh_now"]) for p in listed] == [
        (1, "4.99", "19.960000000"), (2, "49.99", "199.960000000")
    ]  # fmt: skip
    assert "not Pro" in ok(sesh("pro", "status", "--pubkey", PRO_KEY))
    before = chain_state.sesh_balance(chain_state.address("RewardRatePool"))
    assert "Pro until" in ok(sesh("pro", "subscribe", "--pubkey", PRO_KEY, "--plan", "1",
                                   "--account", "TEST::4"))  # fmt: skip
    assert "Pro until" in ok(sesh("pro", "status", "--pubkey", PRO_KEY))
    assert json.loads(ok(sesh("pro", "status", "--pubkey", PRO_KEY, "--json")))["pro"] is True
    paid = chain_state.sesh_balance(chain_state.address("RewardRatePool")) - before
    assert paid == 19_960_000_000  # 4.99 USD at 0.25 USD per SESH, into the pool


def test_pro_subscribe__stale_oracle_or_unknown_plan__is_one_line_and_pays_nothing(
    sesh, chain_state
):
    before = chain_state.sesh_balance("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65")
    assert "pro: unknown plan 7" in one_line_error(
        sesh("pro", "subscribe", "--pubkey", PRO_KEY, "--plan", "7", "--account", "TEST::4")
    )
    _make_stale(chain_state)
    error = one_line_error(
        sesh("pro", "subscribe", "--pubkey", PRO_KEY, "--plan", "1", "--account", "TEST::4")
    )
    assert "price_feed: answer is stale" in error
    assert chain_state.sesh_balance("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65") == before


def test_cli__wrong_network__is_one_line(sesh):
    error = one_line_error(sesh("node", "status", "1", "--network", "arbitrum:sepolai:node"))
    assert "sepolai" in error


def test_cli__missing_account__is_one_line(sesh):
    error = one_line_error(sesh("node", "cancel", "1", "--account", "nobody"))
    assert "no account named 'nobody'" in error and "ape accounts import" in error


def test_cli__manifest_for_another_chain__is_one_line(sesh, chain_state, tmp_path):
    other = json.loads(chain_state.manifest.path.read_text())
    other["chain_id"] = 421614
    path = tmp_path / "421614.json"
    path.write_text(json.dumps(other))
    error = one_line_error(sesh("node", "status", "1", "--manifest", str(path)))
    assert "is for chain 421614, but the connected chain is 412346" in error


def test_cli__no_manifest_for_the_chain__is_one_line(sesh, tmp_path):
    error = one_line_error(sesh("pro", "plans", "--deployments-dir", str(tmp_path)))
    assert "no deployment of chain 412346" in error


COMMANDS = [
    ["keys", "new"], ["keys", "show"],
    ["node", "register"], ["node", "contribute"], ["node", "withdraw"], ["node", "cancel"],
    ["node", "exit"], ["node", "status"], ["node", "set-endpoint"],
    ["rewards", "show"], ["rewards", "claim"], ["rewards", "distribute"],
    ["names", "available"], ["names", "register"], ["names", "renew"], ["names", "set"],
    ["names", "resolve"], ["pro", "plans"], ["pro", "subscribe"], ["pro", "status"],
    ["dev", "advance-time"],
    ["node", "init"], ["node", "info"], ["node", "list"], ["balance"],
    ["token", "transfer"], ["token", "approve"],
]  # fmt: skip


READ_ONLY = [
    ["keys", "new"], ["keys", "show"], ["node", "status"], ["rewards", "show"],
    ["node", "init"], ["node", "info"], ["node", "list"], ["balance"],
    ["names", "available"], ["names", "resolve"], ["pro", "plans"], ["pro", "status"],
    ["dev", "advance-time"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_cli__every_command__has_help_with_an_example(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Example: sesh {' '.join(command)}" in " ".join(result.output.split())
    sends = command not in READ_ONLY
    assert ("--dry-run" in result.output) == sends


def test_cli__dev_advance_time__moves_a_local_chain_clock(sesh, chain_state):
    start = chain_state.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"]
    ok(sesh("dev", "advance-time", "--days", "2"))
    end = chain_state.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"]
    assert int(end, 16) - int(start, 16) >= 2 * 86_400
