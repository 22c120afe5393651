"""`sesh migrate tokens publish|claim` and `sesh vesting …` against the CLI's devchain:
the optional deploy steps added by `deploy all` with a [migration.vesting] table, dry
runs that send nothing, and the real thing. Each test works on its own copy of the
deployment directory, so the shared manifest never names contracts a reverted chain
lost."""

import json
import os
import shutil
import subprocess

from eth_utils import to_checksum_address

from sesh.crypto import keystore
from sesh.crypto.node_keys import NodeKeys
from sesh.deploy.manifest import Manifest
from sesh.devnet.chain import DEVNET_CHAIN_ID
from sesh.rules.units import UNIT
from tests.cli.conftest import BIN, DEPLOYER, FUNDED, PASSWORD, ROOT, ok, one_line_error

DAY = 86_400
HOLDERS = FUNDED[3:6]  # TEST::4, 5, 6


def _own_deployments(devchain, tmp_path):
    directory = tmp_path / "deployments"
    shutil.copytree(devchain.deployments, directory)
    return directory


def _now(devchain) -> int:
    return int(devchain.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)


def test_publish_and_claim__dry_runs_send_nothing__claims_pay_the_registered_address(
    sesh, devchain, tmp_path
):
    deployments = _own_deployments(devchain, tmp_path)
    env = {"SESH_DEPLOYMENTS_DIR": str(deployments)}
    csv_path = tmp_path / "snapshot.csv"
    csv_path.write_text(
        "old_address,new_address,amount\n"
        + "".join(f"LOld{i},{h},{1000 + i}.5\n" for i, h in enumerate(HOLDERS))
    )
    proofs = tmp_path / "proofs.json"
    ok(sesh("migrate", "tokens", "build", str(csv_path), "--proofs", str(proofs)))
    deadline = str(_now(devchain) + 30 * DAY)
    publish = ["migrate", "tokens", "publish", str(csv_path), "--deadline", deadline,
               "--account", "TEST::0"]  # fmt: skip
    out = ok(sesh(*publish, "--dry-run", env=env))
    assert "nothing sent" in out
    assert "MerkleClaim" not in Manifest.load(DEVNET_CHAIN_ID, deployments).contracts
    out = ok(sesh(*publish, env=env))
    manifest = Manifest.load(DEVNET_CHAIN_ID, deployments)
    claim_address = manifest.address("MerkleClaim")
    assert "funded with 3,004.5 SESH" in out
    total = devchain.call(claim_address, "total_claimed()", [], [], ["uint256"])[0]
    assert total == 0
    holder = HOLDERS[1]
    before = devchain.sesh_balance(holder)
    # Submitted by someone else (TEST::8): the SESH still goes to the registered address.
    claim = ["migrate", "tokens", "claim", "--proofs", str(proofs), "--old-address", "LOld1",
             "--account", "TEST::8"]  # fmt: skip
    ok(sesh(*claim, "--dry-run", env=env))
    assert devchain.sesh_balance(holder) == before
    ok(sesh(*claim, env=env))
    assert devchain.sesh_balance(holder) == before + 1001_500_000_000
    again = one_line_error(sesh(*claim, env=env))
    assert "already been claimed" in again


def test_deploy_all_adds_converter_and_vesting__holders_convert__beneficiary_stakes(
    sesh, devchain, tmp_path
):
    deployments = _own_deployments(devchain, tmp_path)
    env = {"SESH_DEPLOYMENTS_DIR": str(deployments)}
    config = tmp_path / "local.toml"
    config.write_text(
        (ROOT / "deploy" / "local.toml").read_text()
        + "\n[migration.vesting]\nfactory = true\n"
        + '[migration.converter]\nold_token = "mock"\nrate_numerator = 1\nrate_denominator = 1\n'
        + 'funding = "1000"\n'
    )
    result = subprocess.run(
        ["ape", "run", "deploy", "all", "--network", devchain.network,
         "--deployments-dir", str(deployments), "--config", str(config), "--yes"],
        cwd=ROOT, env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = Manifest.load(DEVNET_CHAIN_ID, deployments)
    factory = manifest.address("VestingFactory")
    _convert(sesh, devchain, env, manifest.address("OldToken"))
    beneficiary = FUNDED[6]  # TEST::7
    amount = 60_000 * UNIT
    start = _now(devchain) - 365 * DAY  # a year in of four: a quarter vested
    devchain.send(DEPLOYER, devchain.address("SessionToken"), "approve(address,uint256)",
                  ["address", "uint256"], [factory, amount])  # fmt: skip
    devchain.send(
        DEPLOYER, factory, "create_vesting(address,address,uint256,uint256,uint256,bool,uint256)",
        ["address", "address", "uint256", "uint256", "uint256", "bool", "uint256"],
        [beneficiary, DEPLOYER, start, start, start + 4 * 365 * DAY, False, amount],
    )  # fmt: skip
    [vesting] = devchain.call(factory, "vestings(uint256)", ["uint256"], [0], ["address"])
    vesting = to_checksum_address(vesting)
    shown = json.loads(ok(sesh("vesting", "show", vesting, "--json", env=env)))
    assert shown["total_sesh"] == "60000.000000000"
    assert 15_000 <= float(shown["vested_sesh"]) < 15_001
    before = devchain.sesh_balance(beneficiary)
    ok(sesh("vesting", "release", vesting, "--account", "TEST::7", env=env))
    released = devchain.sesh_balance(beneficiary) - before
    assert 15_000 * UNIT <= released < 15_001 * UNIT
    # Someone else's release is refused with the contract's reason, in one line.
    assert "vesting: not the beneficiary" in one_line_error(
        sesh("vesting", "release", vesting, "--account", "TEST::8", env=env)
    )
    keys_path = tmp_path / "node-keys.json"
    keystore.create(keys_path, NodeKeys.generate(), PASSWORD)
    register = ["vesting", "register", vesting, "--keystore", str(keys_path),
                "--endpoint", "203.0.113.9:22021", "--account", "TEST::7"]  # fmt: skip
    ok(sesh(*register, "--dry-run", env=env))
    assert devchain.node_count() == 0
    out = ok(sesh(*register, env=env))
    assert "node id 1" in out
    shown = json.loads(ok(sesh("vesting", "show", vesting, "--json", env=env)))
    assert shown["staked_sesh"] == "25000.000000000"
    # A look-alike address is refused before anything is read from it.
    assert "was not made by the suite's VestingFactory" in one_line_error(
        sesh("vesting", "show", DEPLOYER, env=env)
    )


def _convert(sesh, devchain, env, old_token):
    """TEST::5 converts 5 old tokens (9 decimals, 1:1) after its approval."""
    holder = FUNDED[4]
    devchain.send(holder, old_token, "mint(address,uint256)", ["address", "uint256"],
                  [holder, 5 * UNIT])  # fmt: skip
    before = devchain.sesh_balance(holder)
    convert = ["migrate", "tokens", "convert", str(5 * UNIT), "--account", "TEST::5"]
    out = ok(sesh(*convert, "--dry-run", env=env))
    assert "needs that approval first" in out and devchain.sesh_balance(holder) == before
    ok(sesh(*convert, env=env))
    assert devchain.sesh_balance(holder) == before + 5 * UNIT
