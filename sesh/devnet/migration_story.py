"""The token side of the migrated devnet story (docs/migration.md), for `--migrate`:
a holder converts old tokens at the TokenConverter, another claims its old-chain balance
from a Merkle snapshot, and a vested allocation registers a node with its locked SESH
and claims its rewards.

`run_token_migration(deployment, ...)` takes a deployed suite (a `SuiteDeployment` whose
steps have run, Ape connected to its chain) and deploys what it needs that the config
did not (a mock old token and the converter, the MerkleClaim of a snapshot it makes up,
the vesting factory), recorded in the same manifest. Every step checks its outcome and
raises `MigrationStoryError` if the contracts did not do what the narration says.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sesh.crypto.node_keys import NodeKeys
from sesh.deploy.migration import (
    CONVERTER,
    MERKLE_CLAIM,
    OLD_TOKEN,
    VESTING_FACTORY,
    ClaimsConfig,
    ConverterConfig,
    MigrationConfig,
    migration_steps,
)
from sesh.rules.merkle_claims import build_snapshot
from sesh.rules.units import UNIT, format_sesh

DAY = 86_400
# The devnet's mock old token: 9 decimals like wOXEN, converted 1:1.
OLD_DECIMALS = 9
CONVERTER_FUNDING = 1_000_000 * UNIT
CLAIM_WINDOW = 90 * DAY


class MigrationStoryError(Exception):
    """A step did not have the outcome it narrates."""


@dataclass
class MigrationStoryResult:
    converted_old_units: int
    converted_sesh: int
    merkle_root: str
    claimed_sesh: int
    vesting: str
    vesting_node_id: int
    vesting_rewards: int
    lines: list[str] = dataclasses.field(default_factory=list)


# Gas for the story's distribute and claim (each measured well under 400,000).
CALL_GAS = 1_500_000


def _advance(seconds: int) -> None:
    from ape import chain

    chain.provider.web3.provider.make_request("evm_increaseTime", [seconds])
    chain.provider.web3.provider.make_request("evm_mine", [])


def _now() -> int:
    from ape import chain

    return int(chain.provider.web3.eth.get_block("latest")["timestamp"])


def run_token_migration(
    deployment: Any,
    converter_holder: Any,
    claim_holders: list[Any],
    beneficiary: Any,
    node_keys: NodeKeys | None = None,
    endpoint: str = "127.0.0.1:1",
    echo: Callable[[str], None] = print,
    advance: Callable[[int], None] | None = None,
) -> MigrationStoryResult:
    """Run the three token steps on `deployment`'s chain; Ape accounts as actors (the
    deployer funds everything). `node_keys`/`endpoint`: the vested node's, so a devnet
    can run a bridge for it (by default fresh keys and an endpoint nobody serves: the
    network would vote such a node out). `advance(seconds)` moves the chain's clock (a
    devnet passes one that also refreshes its price feeds); a day at a time until the
    vested node has rewards to claim, at most three."""
    from ape import project

    from sesh.deploy.suite import STAKING, TOKEN

    deployer = deployment.deployer.account
    token = deployment._i(TOKEN)
    staking = deployment._i(STAKING)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        echo(line)

    # What the config did not deploy, deploy now (recorded in the manifest).
    holders_rows = [
        (f"LDevnetOld{i}", str(holder.address), (i + 1) * 1_234 * UNIT + i)
        for i, holder in enumerate(claim_holders)
    ]
    snapshot = build_snapshot(holders_rows)
    existing = deployment.config.migration or MigrationConfig()
    contracts = deployment.manifest.contracts
    wanted = MigrationConfig(
        converter=None
        if CONVERTER in contracts
        else ConverterConfig("mock", OLD_DECIMALS, 1, 1, CONVERTER_FUNDING),
        claims=None
        if MERKLE_CLAIM in contracts
        else ClaimsConfig(snapshot.root, snapshot.total, _now() + CLAIM_WINDOW, "pool"),
        vesting_factory=VESTING_FACTORY not in contracts,
        staking_views=existing.staking_views,
    )
    story = _with_config(deployment, wanted)
    for step in migration_steps(story):
        step.run()
    deployment.manifest.save()

    # 1. Conversion.
    converter = story._i(CONVERTER)
    old = project.MockLegacyToken.at(contracts[OLD_TOKEN].address)
    offered = 4_321 * 10**OLD_DECIMALS + 7
    old.mint(converter_holder, offered, sender=converter_holder)
    old.approve(converter, offered, sender=converter_holder)
    taken, expected = converter.preview(offered)
    before = token.balanceOf(converter_holder)
    converter.convert(offered, converter_holder, sender=converter_holder)
    got = token.balanceOf(converter_holder) - before
    if got != expected or got == 0:
        raise MigrationStoryError(f"conversion paid {got}, the converter previewed {expected}")
    say(f"{converter_holder.address} converted {taken} old units into {format_sesh(got)}")

    # 2. A Merkle claim (to a registered address, submitted by the deployer as a relayer).
    claim = story._i(MERKLE_CLAIM)
    if bytes(claim.MERKLE_ROOT()) != snapshot.root:
        raise MigrationStoryError(
            "the MerkleClaim in the manifest is for another snapshot; remove it to make a new one"
        )
    entry = snapshot.entries[-1]
    holder = claim_holders[-1]
    before = token.balanceOf(holder)
    claim.claim(
        entry.index, entry.old_account, entry.claimant, entry.amount,
        snapshot.proof(entry.index), sender=deployer,
    )  # fmt: skip
    claimed = token.balanceOf(holder) - before
    if claimed != entry.amount or not claim.is_claimed(entry.index):
        raise MigrationStoryError(f"the claim paid {claimed}, the snapshot says {entry.amount}")
    say(f"{holder.address} claimed {format_sesh(claimed)} of old-chain balance {entry.old_address}")

    # 3. A vested allocation runs a node and claims its rewards.
    factory = story._i(VESTING_FACTORY)
    requirement = int(staking.staking_requirement())
    amount = 2 * requirement
    token.approve(factory, amount, sender=deployer)
    start = _now()
    receipt = factory.create_vesting(
        beneficiary, deployer, start, start + 180 * DAY, start + 4 * 365 * DAY, False, amount,
        sender=deployer,
    )  # fmt: skip
    [created] = factory.VestingCreated.from_receipt(receipt)
    vesting = project.VestingStaking.at(created.vesting)
    keys = node_keys or NodeKeys.generate()
    registration = keys.registration_args(
        _chain_id(),
        str(staking.address),
        str(vesting.address),
    )
    receipt = vesting.register_node(*registration, endpoint, 0, requirement, [], sender=beneficiary)
    [registered] = staking.NodeRegistered.from_receipt(receipt)
    node_id = int(registered.node_id)
    if str(staking.node(node_id).operator) != str(vesting.address):
        raise MigrationStoryError("the vested node's operator is not the vesting contract")
    say(
        f"vesting {vesting.address} registered node {node_id} with "
        f"{format_sesh(requirement)} locked"
    )
    # On a devnet the bridges keep sending transactions (votes, their own distributes)
    # between a gas estimate and the block that includes it, and whichever call comes
    # first in a pool day pulls the pool: an estimate can fall short (a devnet run once
    # failed so, with no revert reason). Fixed limits well above the measured costs.
    for _ in range(3):
        (advance or _advance)(DAY)
        staking.distribute(sender=deployer, gas=CALL_GAS)
        if int(staking.claimable(node_id, vesting)[0]) > 0:
            break
    before = token.balanceOf(beneficiary)
    vesting.claim(node_id, sender=beneficiary, gas=CALL_GAS)
    rewards = token.balanceOf(beneficiary) - before
    if rewards <= 0 or int(vesting.staked()) != requirement:
        raise MigrationStoryError(f"the vested node's claim paid {rewards} to the beneficiary")
    say(f"the beneficiary claimed {format_sesh(rewards)} of rewards; the stake stays locked")
    return MigrationStoryResult(
        converted_old_units=taken,
        converted_sesh=got,
        merkle_root="0x" + snapshot.root.hex(),
        claimed_sesh=claimed,
        vesting=str(vesting.address),
        vesting_node_id=node_id,
        vesting_rewards=rewards,
        lines=lines,
    )


def devnet_step(
    context: Any,
    node_keys: NodeKeys | None = None,
    endpoint: str = "127.0.0.1:1",
    advance: Callable[[int], None] | None = None,
):
    """`run_token_migration` as a step of the devnet's migrated story (`context`: the
    devnet's MigrationContext — console, SDK suite, test accounts, manifest). Actors:
    test accounts 0 (deployer), 3 (converts), 4 and 5 (in the snapshot; 5 claims) and 6
    (the beneficiary)."""
    from ape import chain

    from sesh.deploy.config import SuiteConfig
    from sesh.deploy.steps import Deployer
    from sesh.deploy.suite import SuiteDeployment

    accounts = context.accounts
    deployer = Deployer(account=accounts[0], manifest=context.manifest, echo=context.console.print)
    config = SuiteConfig(path=context.manifest.path, chain_ids=(int(chain.chain_id),))
    return run_token_migration(
        SuiteDeployment(deployer, config),
        converter_holder=accounts[3],
        claim_holders=[accounts[4], accounts[5]],
        beneficiary=accounts[6],
        node_keys=node_keys,
        endpoint=endpoint,
        echo=context.console.print,
        advance=advance,
    )


def _chain_id() -> int:
    from ape import chain

    return int(chain.chain_id)


def _with_config(deployment: Any, migration: MigrationConfig) -> Any:
    """A `SuiteDeployment` sharing `deployment`'s deployer, manifest and instances, whose
    config has `migration`."""
    from sesh.deploy.suite import SuiteDeployment

    twin = SuiteDeployment(
        deployment.deployer, dataclasses.replace(deployment.config, migration=migration)
    )
    twin.instances = deployment.instances
    return twin
