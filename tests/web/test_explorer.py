"""The page every bridge serves at `/`, in a real headless Chromium (over CDP) against a
devnet of five bridges started by the devnet's own code: what it shows matches the chain
(read through the SDK), and a contribution and a claim made from the page with a browser
wallet land on chain, after the same checks as the CLI. Screenshots of each page are
saved under .cache/web-screenshots/ (the path is printed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from sesh.contracts import Suite
from sesh.crypto.node_keys import NodeKeys
from sesh.devnet.chain import DEVNET_CHAIN_ID, Anvil, free_port, start_anvil
from sesh.devnet.network import PUBLIC_CONTRIBUTOR
from sesh.devnet.runner import (
    Devnet,
    anvil_accounts,
    connected,
    deploy_devnet,
    start_nodes_and_story,
)
from sesh.rules.units import UNIT, format_sesh
from tests.web.browser import Browser, find_chromium, wallet_script

NODES = 5
ROOT = Path(__file__).resolve().parents[2]
LOCAL_CONFIG = ROOT / "deploy" / "local.toml"
SCREENSHOTS = ROOT / ".cache" / "web-screenshots"
SESH = [sys.executable, "-c", "from sesh.cli.main import main; main()"]
# Test accounts by role (1-6 run the devnet's nodes; 1-9 hold SESH).
OPEN_OPERATOR, DELEGATOR, STRANGER = 7, 8, 9
OPEN_FEE_BPS = 750

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: `make setup` installs it (apt-get)"
)


@dataclass
class Running:
    devnet: Devnet
    anvil: Anvil
    suite: Suite
    roles: list
    open_node: int
    browser: Browser
    tmp: Path

    @property
    def url(self) -> str:
        """The first bridge: what `http://127.0.0.1:<first node port>/` serves."""
        return f"http://127.0.0.1:{self.devnet.network.nodes[0].port}/"

    def bridge(self, path: str) -> dict:
        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=10) as response:
            return json.loads(response.read())

    def wait_synced(self, timeout: float = 30.0) -> None:
        """Until the first bridge has applied the chain's latest block."""
        head = int(self.anvil.rpc("eth_blockNumber", []), 16)
        deadline = time.monotonic() + timeout
        while self.bridge("/info")["synced_block"] < head:
            assert time.monotonic() < deadline, "the bridge did not catch up with the chain"
            time.sleep(0.2)

    def use_wallet(self, role: int) -> None:
        self.browser.evaluate(f"window.__testAccount = {json.dumps(self.roles[role].address)}")

    def shot(self, name: str) -> Path:
        path = self.browser.screenshot(SCREENSHOTS / f"{name}.png")
        print(f"screenshot: {path}")
        return path


@pytest.fixture(autouse=True)
def _function_isolation():
    """Ape's per-test chain snapshot, off: Ape is connected to the devnet's own anvil."""
    yield


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    anvil = start_anvil(chain_id=DEVNET_CHAIN_ID, accounts=anvil_accounts(NODES))
    console = Console(width=100, force_terminal=False, record=True)
    started = browser = None
    try:
        with connected(anvil.url):
            from ape import accounts

            manifest = deploy_devnet(anvil.url, tmp / "deployments", LOCAL_CONFIG, console)
            started = start_nodes_and_story(
                anvil.url,
                manifest,
                console,
                NODES,
                [free_port() for _ in range(NODES)],
                tmp / "nodes",
                anvil.rpc,
                run_story=False,
            )
            suite = Suite.load(manifest)
            roles = list(accounts.test_accounts)
            # One node still collecting stake, with a slot reserved for the delegator's
            # neighbour: the open node the page offers.
            quarter = suite.staking.requirement() / 4
            suite.staking.register(
                NodeKeys.generate(),
                "127.0.0.1:1",
                OPEN_FEE_BPS,
                quarter,
                roles[OPEN_OPERATOR],
                [(roles[STRANGER].address, quarter)],
            ).send()
            open_node = int(suite.staking.contract.node_count())
            browser = Browser(CHROMIUM)
            browser.add_script(wallet_script(anvil.url, roles[DELEGATOR].address))
            running = Running(started, anvil, suite, roles, open_node, browser, tmp)
            running.wait_synced()
            yield running
    finally:
        if browser is not None:
            browser.close()
        if started is not None:
            started.stop()
        anvil.stop()


def test_overview__shows_the_network_and_the_open_nodes_as_the_chain_says(web):
    staking, pool = web.suite.staking, web.suite.pool
    web.browser.open(web.url)
    assert web.browser.text("#stat-active") == str(int(staking.contract.active_nodes()))
    assert web.browser.text("#stat-open") == "1"
    assert web.browser.text("#stat-pool") == format_sesh(int(pool.balance() * UNIT))
    assert web.browser.text("#stat-requirement") == format_sesh(int(staking.requirement() * UNIT))
    row = f'#open-nodes tr[data-node="{web.open_node}"]'
    minimum = int(staking.min_contribution(web.open_node) * UNIT)
    assert web.browser.text(f"{row} .minimum") == format_sesh(minimum)
    assert web.browser.text(f"{row} .fee") == f"{OPEN_FEE_BPS / 100} %"
    assert "25 %" in web.browser.text(f"{row} .filled")
    assert web.roles[STRANGER].address[:8].lower() in web.browser.text(f"{row} .reserved").lower()
    names = web.suite.names.contract.totalSupply()
    assert web.browser.text("#stat-names") == str(int(names))
    rows = web.browser.evaluate("document.querySelectorAll('#all-nodes tr[data-node]').length")
    assert rows == NODES + 1
    web.shot("overview")


def test_node_page__shows_the_stake_contributors_and_swarm_the_chain_has(web):
    node = web.suite.staking.node(1)
    web.browser.open(web.url + "#/node/1")
    assert web.browser.text("#node-status") == node.status.name.lower()
    assert web.browser.text("#node-stake") == format_sesh(int(node.total_stake * UNIT))
    assert web.browser.text("#node-operator") == node.operator.lower()  # as the registry keeps it
    listed = web.browser.text("#node-contributor-list").lower()
    for contributor in web.suite.staking.contributors(1):
        assert contributor.account.lower() in listed
    assert "sesh rewards claim --node 1 --network arbitrum:devnet:node" in web.browser.text("main")
    web.shot("node")


def test_unknown_node__the_page_says_so(web):
    web.browser.open(web.url + "#/node/999")
    assert "No node 999" in web.browser.text("main")


def test_contribute__below_the_minimum__is_refused_before_anything_is_signed(web):
    web.browser.open(web.url + f"#/node/{web.open_node}")
    web.use_wallet(DELEGATOR)
    minimum = web.suite.staking.min_contribution(web.open_node)
    web.browser.fill("#amount", str(minimum - 1))
    web.browser.click("#contribute")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText")
    assert notice.startswith("staking: below min contribution")
    assert "eth_signTypedData_v4" not in web.browser.evaluate("window.__walletCalls")


def test_contribute__more_than_the_balance__is_refused_with_the_clis_message(web):
    web.browser.open(web.url + f"#/node/{web.open_node}")
    web.use_wallet(DELEGATOR)
    web.browser.fill("#amount", "10000000")
    web.browser.click("#contribute")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText")
    assert notice.startswith(f"insufficient balance: {web.roles[DELEGATOR].address} holds")
    assert "eth_sendTransaction" not in web.browser.evaluate("window.__walletCalls")


def test_contribute__with_a_permit_from_the_page__lands_on_chain(web):
    staking, delegator = web.suite.staking, web.roles[DELEGATOR]
    minimum = staking.min_contribution(web.open_node)
    web.browser.open(web.url + f"#/node/{web.open_node}")
    web.use_wallet(DELEGATOR)
    # The form offers the node's minimum, exactly.
    assert Decimal(web.browser.evaluate("document.querySelector('#amount').value")) == minimum
    web.browser.click("#contribute")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText", 60)
    assert notice.startswith(f"contributed {format_sesh(int(minimum * UNIT))} to node")
    calls = web.browser.evaluate("window.__walletCalls")
    assert "eth_signTypedData_v4" in calls
    # The gas limit set as the CLI sets it, from an estimate (a bare send ran out of gas).
    assert calls.index("eth_estimateGas") < calls.index("eth_sendTransaction")
    stakes = {c.account: c.stake for c in staking.contributors(web.open_node)}
    assert stakes[delegator.address] == minimum
    web.wait_synced()
    web.browser.open(web.url + f"#/node/{web.open_node}")
    assert delegator.address.lower() in web.browser.text("#node-contributor-list")
    web.shot("contributed")


def test_contribute__a_reserved_slot_below_its_amount__is_refused_before_signing(web):
    web.browser.open(web.url + f"#/node/{web.open_node}")
    web.use_wallet(STRANGER)
    reserved = web.suite.staking.requirement() / 4
    web.browser.fill("#amount", str(reserved - 1))
    web.browser.click("#contribute")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText")
    assert notice.startswith("staking: below reserved amount")
    assert "eth_signTypedData_v4" not in web.browser.evaluate("window.__walletCalls")


def test_contribute__a_reserved_slot_filled_from_the_page(web):
    staking, holder = web.suite.staking, web.roles[STRANGER].address
    reserved = staking.requirement() / 4
    web.browser.open(web.url + f"#/node/{web.open_node}")
    web.use_wallet(STRANGER)
    web.browser.fill("#amount", str(reserved))
    web.browser.click("#contribute")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText", 60)
    assert notice.startswith(f"contributed {format_sesh(int(reserved * UNIT))}"), notice
    stakes = {c.account: c.stake for c in staking.contributors(web.open_node)}
    assert stakes[holder] == reserved
    web.wait_synced()


def test_claim__with_no_stake__is_refused_before_signing(web):
    web.browser.open(web.url + "#/node/1")
    web.browser.evaluate(f"window.__testAccount = {json.dumps(web.roles[0].address)}")
    web.browser.click("#claim")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText")
    assert notice == f"staking: {web.roles[0].address} has no stake in any node"
    assert "eth_sendTransaction" not in web.browser.evaluate("window.__walletCalls")


def test_claim__from_the_page__pays_the_rewards_on_chain(web):
    staking, token = web.suite.staking, web.suite.token
    operator = staking.node(1).operator
    role = next(i for i, a in enumerate(web.roles) if a.address == operator)
    for _day in range(2):  # two daily releases, for the chart
        web.anvil.rpc("evm_increaseTime", [86_400])
        web.anvil.rpc("evm_mine", [])
        staking.distribute(web.roles[0]).send()
    rewards, _stake = staking.claimable(1, operator)
    assert rewards > 0
    before = token.balance(operator)
    web.wait_synced()
    web.browser.open(web.url + "#/node/1")
    web.use_wallet(role)
    web.browser.click("#claim")
    notice = web.browser.wait("document.querySelector('#notice-text')?.innerText", 60)
    assert notice.startswith("received "), notice
    gained = token.balance(operator) - before
    assert gained >= rewards
    assert staking.claimable(1, operator)[0] < rewards
    web.wait_synced()
    web.browser.open(web.url)
    releases = web.bridge("/web/chain")["releases"]
    assert len(releases) >= 2
    assert sum(int(r["amount"]) for r in releases) == int(web.suite.pool.total_released() * UNIT)
    assert web.browser.evaluate("document.querySelectorAll('svg#chart circle').length") == 2 * len(
        releases
    )  # noqa: E501
    web.shot("claimed-overview")


NOTICE_AFTER_CONNECT = (
    "(t => t && !t.startsWith('connected') ? t : null)"
    "(document.querySelector('#notice-text')?.innerText)"
)


def test_claim_all__from_the_overview__claims_every_node_as_sesh_rewards_claim(web):
    staking, token = web.suite.staking, web.suite.token
    contributor = web.roles[PUBLIC_CONTRIBUTOR].address
    nodes = [n["node_id"] for n in web.bridge(f"/web/account/{contributor}")["nodes"]]
    owed = {n: staking.claimable(n, contributor)[0] for n in nodes}
    assert nodes and sum(owed.values()) > 0
    before = token.balance(contributor)
    web.browser.open(web.url)
    web.use_wallet(PUBLIC_CONTRIBUTOR)
    web.browser.click("#connect")
    web.browser.wait("!!document.querySelector('#my-rewards tr[data-node]')")
    for node_id, rewards in owed.items():
        shown = web.browser.text(f'#my-rewards tr[data-node="{node_id}"] .rewards')
        assert shown == format_sesh(int(rewards * UNIT))
    web.shot("my-rewards")
    web.browser.click("#claim-all")
    notice = web.browser.wait(NOTICE_AFTER_CONNECT, 60)
    assert notice.startswith("received "), notice
    assert token.balance(contributor) - before >= sum(owed.values())
    assert all(staking.claimable(n, contributor)[0] == 0 for n in nodes)


def test_claim_all__an_account_with_no_stake_is_told_so(web):
    stranger = web.roles[0].address
    web.browser.open(web.url)
    web.use_wallet(0)
    web.browser.click("#connect")
    text = web.browser.wait(
        "(t => t && t.startsWith('0x') ? t : null)"
        "(document.querySelector('#my-rewards')?.innerText)"
    )
    assert text.startswith(f"{stranger} holds ") and text.endswith("has no stake in any node.")
    assert not web.browser.evaluate("!!document.querySelector('#claim-all')")


def test_without_a_wallet__the_page_reads_and_refuses_to_stake_clearly(web):
    browser = Browser(CHROMIUM)
    try:
        browser.open(web.url + f"#/node/{web.open_node}")
        assert browser.text("#node-status") == "open"
        browser.click("#contribute")
        notice = browser.wait("document.querySelector('#notice-text')?.innerText")
        assert notice.startswith("No browser wallet")
    finally:
        browser.close()


def test_static_files__unknown_names_are_404(web):
    with pytest.raises(urllib.error.HTTPError) as refused:
        web.bridge("/web/static/..%2Fexplorer.py")
    assert refused.value.code == 404
    assert web.bridge("/web/chain")["chain_id"] == DEVNET_CHAIN_ID
    assert Decimal(web.bridge("/web/chain")["pool_balance"]) > 0


def test_sesh_explorer__serves_the_page_without_a_node(web):
    port = free_port()
    process = subprocess.Popen(
        [*SESH, "explorer", "--network", f"arbitrum:devnet:{web.anvil.url}",
         "--manifest", str(web.suite.manifest.path), "--port", str(port),
         "--data-dir", str(web.tmp / "explorer")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                with urllib.request.urlopen(url + "info", timeout=5) as response:
                    if json.loads(response.read())["synced"]:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "sesh explorer did not serve within 60 s"
            time.sleep(0.5)
        web.browser.open(url)
        assert web.browser.text("#stat-active") == str(
            int(web.suite.staking.contract.active_nodes())
        )  # noqa: E501
        assert web.browser.text("#stat-open") == "1"
    finally:
        process.terminate()
        process.wait(15)


def test_sesh_explorer__without_a_manifest__refuses_clearly(web):
    result = subprocess.run(
        [*SESH, "explorer", "--network", f"arbitrum:devnet:{web.anvil.url}",
         "--manifest", str(web.tmp / "missing.json")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Error:" in result.stdout + result.stderr
    assert "missing.json" in result.stdout + result.stderr


def test_swarms_page__lists_the_swarms_every_bridge_agrees_on(web):
    swarms = web.devnet.network.wait_agreement(int(web.anvil.rpc("eth_blockNumber", []), 16))
    web.browser.open(web.url + "#/swarms")
    shown = web.browser.evaluate(
        "[...document.querySelectorAll('#swarm-list tr[data-swarm]')]"
        ".map((row) => [row.dataset.swarm, row.querySelector('.members').innerText])"
    )
    assert {swarm: sorted(int(n) for n in members.split(", ")) for swarm, members in shown} == {
        f"{swarm:016x}": sorted(members) for swarm, members in swarms.items()
    }
    web.shot("swarms")


def test_node_page__shows_this_bridges_latest_peer_tests_of_the_node(web):
    deadline = time.monotonic() + 30
    while not (tested := [p for p in web.bridge("/votes")["peers"] if p["tests"] > 0]):
        assert time.monotonic() < deadline, "the first bridge tested no peer in 30 s"
        time.sleep(0.5)
    peer = tested[0]
    web.browser.open(web.url + f"#/node/{peer['node_id']}")
    passed, tests = map(
        int, re.search(r"(\d+) of (\d+) tests passed", web.browser.text("#node-tests")).groups()
    )  # noqa: E501
    assert tests >= peer["tests"] and passed >= peer["passed"]
    assert "passing" in web.browser.text("#node-tests")


def test_account__what_a_wallet_holds_and_may_claim(web):
    delegator = web.roles[DELEGATOR].address
    account = web.bridge(f"/web/account/{delegator}")
    assert int(account["balance"]) == web.suite.token.balance_units(delegator)
    assert int(account["nonce"]) == web.suite.token.contract.nonces(delegator)
    with pytest.raises(urllib.error.HTTPError) as refused:
        web.bridge("/web/account/0x1234")
    assert refused.value.code == 400


def test_node_page__a_cancelled_node_shows_its_exit(web):
    staking, operator = web.suite.staking, web.roles[OPEN_OPERATOR]
    staking.register(
        NodeKeys.generate(), "127.0.0.1:2", OPEN_FEE_BPS, staking.requirement() / 4, operator
    ).send()
    node_id = int(staking.contract.node_count())
    staking.cancel(node_id, operator).send()
    assert staking.node(node_id).exit_reason == 4
    web.wait_synced()
    web.browser.open(web.url + f"#/node/{node_id}")
    assert web.browser.text("#node-status") == "cancelled"
    assert web.browser.text("#node-exit") == "cancelled"


def test_times__are_shown_in_the_readers_time_zone(web):
    browser = Browser(CHROMIUM)
    try:
        browser.call("Emulation.setTimezoneOverride", timezoneId="Asia/Tokyo")
        browser.open(web.url)
        assert "times in Asia/Tokyo" in browser.text("#footer")
        start = web.bridge("/web/chain")["pool_start"]
        expected = browser.evaluate(
            f"new Date({start} * 1000).toLocaleString(undefined, {{timeZoneName: 'short'}})"
        )
        assert "GMT+9" in expected
        assert f"{expected} (pool start)" in browser.text("#chart")
    finally:
        browser.close()
