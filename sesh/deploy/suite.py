"""`deploy all`: the whole suite, wired, funded and checked, resumable at every step.

Order: SESH (deployed, or an existing/bridged one) -> RewardRatePool -> BLSVerifier ->
ServiceNodeStakingExtension -> ServiceNodeStaking -> price feeds (mocks on local chains)
-> SessionNameService, SessionPro -> Pro's treasury, plans, pay tokens and payment
providers -> the pool's funding -> pool.set_beneficiary(staking) (the pool's clock starts
there, on what it holds) -> a check of every wire.

Contracts are judged "done" by the manifest (and their code on chain); wiring steps by the
chain itself, so a step done by hand, or by a run killed before it could record it, is
never sent twice. `scripts/deploy.py`, `scripts/devnet.py` and the tests all run this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sesh.deploy.config import SuiteConfig
from sesh.deploy.migration import (
    CONVERTER,
    migration_checks,
    migration_steps,
)
from sesh.deploy.steps import ZERO_ADDRESS, Deployer, DeployError, deploy_token
from sesh.rules.prices import USD
from sesh.rules.units import format_sesh

# Manifest names of the contracts `deploy all` deploys.
TOKEN = "SessionToken"
BRIDGED_TOKEN = "SessionTokenL2"
POOL = "RewardRatePool"
VERIFIER = "BLSVerifier"
STAKING = "ServiceNodeStaking"
# The staking contract's extension (owner's setters, `sweep`, seeding), reached through the
# staking address; deployed before it, always.
EXTENSION = "ServiceNodeStakingExtension"
SESH_USD_FEED = "SeshUsdFeed"
SEQUENCER_FEED = "SequencerUptimeFeed"
NAMES = "SessionNameService"
PRO = "SessionPro"
STABLECOIN = "MockStablecoin"
STABLECOIN_FEED = "StablecoinUsdFeed"
# Contracts the SDK looks up, in the order they are deployed.
SUITE_CONTRACTS = (TOKEN, POOL, VERIFIER, STAKING, NAMES, PRO)
# The mock sequencer feed reports the sequencer "up since 1970": older than any grace period.
MOCK_SEQUENCER_UP_SINCE = 1
FEED_DECIMALS = 8
# The SESH/USD feed a keeper pushes, on testnets without a Chainlink feed.
KEEPER_FEED_TYPE = "KeeperAggregator"


@dataclass
class PlannedStep:
    """One step of the plan: what it does, and whether the manifest already has it."""

    key: str
    title: str
    run: Callable[[], None]
    recorded: Callable[[], bool]


@dataclass(frozen=True)
class WireCheck:
    """One wire checked after the deployment."""

    what: str
    ok: bool
    detail: str
    # A failed required wire fails the deployment; others are warnings.
    required: bool = True


class SuiteDeployment:
    """The steps of one deployment of the suite with `config`, run by `deployer`."""

    def __init__(self, deployer: Deployer, config: SuiteConfig):
        self.deployer = deployer
        self.config = config
        self.manifest = deployer.manifest
        # Contract instances by manifest name, filled as steps run.
        self.instances: dict[str, Any] = {}

    # ------------------------------------------------------------------ plan

    def steps(self) -> list[PlannedStep]:
        config = self.config
        steps = [
            self._contract_step(self._token_name(), "SESH token", self._token),
            self._contract_step(
                POOL, "RewardRatePool(token)", lambda: self._deploy(POOL, POOL, self._a(TOKEN))
            ),
            self._contract_step(
                VERIFIER, "BLSVerifier()", lambda: self._deploy(VERIFIER, VERIFIER)
            ),
        ]
        steps += [
            # Always: the staking contract delegates the owner's setters, `sweep` and the
            # seeding phase to it, and refuses an extension made for other contracts.
            self._contract_step(
                EXTENSION,
                "ServiceNodeStakingExtension(token, pool, verifier)",
                lambda: self._deploy(
                    EXTENSION, EXTENSION, self._a(TOKEN), self._a(POOL), self._a(VERIFIER)
                ),
            ),
            self._contract_step(
                STAKING,
                "ServiceNodeStaking(token, pool, verifier, extension, seeding)"
                + (" in its seeding phase" if config.seeding else ""),
                lambda: self._deploy(
                    STAKING,
                    STAKING,
                    self._a(TOKEN),
                    self._a(POOL),
                    self._a(VERIFIER),
                    self._a(EXTENSION),
                    config.seeding,
                ),
            ),
        ]
        if config.mock_feeds:
            steps.append(
                self._contract_step(
                    SESH_USD_FEED,
                    f"mock SESH/USD feed at {config.mock_sesh_usd / USD} USD",
                    lambda: self._deploy(
                        SESH_USD_FEED,
                        "MockAggregator",
                        FEED_DECIMALS,
                        config.mock_sesh_usd,
                        "SESH / USD",
                    ),
                )
            )
        if config.keeper_feed:
            steps.append(
                self._contract_step(
                    SESH_USD_FEED,
                    f"keeper SESH/USD feed at {config.keeper_sesh_usd / USD} USD, pushed by "
                    f"{config.keeper or 'the deploying account'} (`sesh feeds push`)",
                    lambda: self._deploy(
                        SESH_USD_FEED,
                        KEEPER_FEED_TYPE,
                        FEED_DECIMALS,
                        config.keeper_sesh_usd,
                        "SESH / USD",
                        config.keeper or str(self.deployer.account.address),
                    ),
                )
            )
        if config.sequencer == "mock":
            steps.append(
                self._contract_step(
                    SEQUENCER_FEED,
                    "mock sequencer uptime feed",
                    lambda: self._deploy(
                        SEQUENCER_FEED, "MockSequencerUptimeFeed", MOCK_SEQUENCER_UP_SINCE
                    ),
                )
            )
        steps += [
            self._contract_step(NAMES, "SessionNameService", self._names),
            self._contract_step(PRO, "SessionPro", self._pro),
            self._wire_step("pro.treasury", "Pro treasury", self._treasury),
        ]
        for plan in config.plans:
            steps.append(
                self._wire_step(
                    f"pro.plan.{plan.plan_id}",
                    f"Pro plan {plan.plan_id}: {plan.duration // 86_400} days, "
                    f"{plan.usd_price / USD} USD",
                    self._plan(plan),
                )
            )
        if config.mock_stablecoin:
            steps += [
                self._contract_step(
                    STABLECOIN,
                    "mock stablecoin (mUSDC)",
                    lambda: self._deploy(STABLECOIN, STABLECOIN),
                ),
                self._contract_step(
                    STABLECOIN_FEED,
                    "mock USDC/USD feed at 1 USD",
                    lambda: self._deploy(
                        STABLECOIN_FEED, "MockAggregator", FEED_DECIMALS, USD, "USDC / USD"
                    ),
                ),
            ]
        for label, token, feed, heartbeat in self._pay_tokens():
            steps.append(
                self._wire_step(
                    f"pro.pay_token.{label}",
                    "Pro accepts the stablecoin",
                    self._pay_token(token, feed, heartbeat),
                )
            )
        for provider in config.payment_providers:
            steps.append(
                self._wire_step(
                    f"pro.payment_provider.{provider}",
                    f"Pro payment provider {provider}",
                    self._payment_provider(provider),
                )
            )
        if config.pool_funding:
            steps.append(
                self._wire_step(
                    "pool.funding",
                    f"fund the pool with {format_sesh(config.pool_funding)}",
                    self._fund,
                )
            )
        # After the funding: the pool pays for days from `set_beneficiary` on what it
        # holds then (tokens arriving later earn from the next release). A seeding
        # deployment sets it when `sesh migrate` starts the staking contract.
        if not config.seeding:
            steps.append(
                self._wire_step(
                    "pool.beneficiary", "pool.set_beneficiary(staking)", self._beneficiary
                )
            )
        steps += migration_steps(self)
        if config.new_owner:
            # Last: every step above needs the deployer to still own the contracts.
            for name in self._owned():
                steps.append(
                    self._wire_step(
                        f"ownership.{name}",
                        f"hand {name} to {config.new_owner} (it accepts)",
                        self._hand_over(name),
                    )
                )
        return steps

    def _owned(self) -> list[str]:
        """The suite's ownable contracts (the token only if this deployment made it)."""
        names = [POOL, STAKING, NAMES, PRO]
        if self.config.migration is not None and self.config.migration.converter is not None:
            names.append(CONVERTER)
        if not self.config.token_address and self._token_name() == TOKEN:
            names.insert(0, TOKEN)
        return names

    def _hand_over(self, name: str) -> Callable[[str, str], None]:
        """transfer_ownership(new_owner); done once the new owner is pending or has
        accepted. Refused if someone else already owns it."""

        def run(key: str, title: str) -> None:
            contract, target = self._i(name), self.config.new_owner
            owner = str(contract.owner())
            if owner not in (target, str(self.deployer.account.address)):
                raise DeployError(f"{name} is owned by {owner}, neither the deployer nor {target}")
            self.deployer.step(
                key,
                title,
                lambda: target in (str(contract.owner()), str(contract.pending_owner())),
                lambda: contract.transfer_ownership.as_transaction(
                    target, sender=self.deployer.account
                ),
            )

        return run

    def run(self, progress: Callable[[int, int, PlannedStep], None] | None = None) -> None:
        """Run every step in order; each is skipped if already done."""
        steps = self.steps()
        for index, step in enumerate(steps, 1):
            if progress is not None:
                progress(index, len(steps), step)
            step.run()

    # ----------------------------------------------------------- contracts

    def _contract_step(self, name: str, title: str, run: Callable[[], None]) -> PlannedStep:
        return PlannedStep(
            key=name, title=title, run=run, recorded=lambda: name in self.manifest.contracts
        )

    def _wire_step(self, key: str, title: str, run: Callable[[str, str], None]) -> PlannedStep:
        return PlannedStep(
            key=key,
            title=title,
            run=lambda: run(key, title),
            recorded=lambda: self.manifest.is_done(key),
        )

    def _deploy(self, name: str, contract_type: str, *args: Any) -> None:
        self.instances[name] = self.deployer.contract(name, contract_type, *args)

    def _token_name(self) -> str:
        if self.config.token_address:
            return self.config.token_contract_type
        if TOKEN not in self.manifest.contracts and BRIDGED_TOKEN in self.manifest.contracts:
            return BRIDGED_TOKEN
        return TOKEN

    def _token(self) -> None:
        name = self._token_name()
        if self.config.token_address:
            token = self.deployer.adopt(name, name, self.config.token_address)
        elif name == BRIDGED_TOKEN:
            token = self.deployer.contract(BRIDGED_TOKEN, BRIDGED_TOKEN)
        else:
            token = deploy_token(self.deployer, self.config.genesis_receiver)
        # Every later step knows SESH as TOKEN, whichever contract it is.
        self.instances[TOKEN] = token

    def _names(self) -> None:
        config = self.config
        self._deploy(
            NAMES,
            NAMES,
            self._a(TOKEN),
            self._a(POOL),
            self._sesh_usd_feed(),
            config.feed_heartbeat,
            self._sequencer_feed(),
            list(config.yearly_prices_usd),
            config.premium_start_usd,
        )

    def _pro(self) -> None:
        config = self.config
        self._deploy(
            PRO,
            PRO,
            self._a(TOKEN),
            self._a(POOL),
            self._treasury_address(),
            self._sesh_usd_feed(),
            config.feed_heartbeat,
            self._sequencer_feed(),
        )

    # -------------------------------------------------------------- wiring

    def _beneficiary(self, key: str, title: str) -> None:
        pool, staking = self._i(POOL), self._a(STAKING)
        current = str(pool.beneficiary())
        if current not in (ZERO_ADDRESS, staking):
            raise DeployError(
                f"the pool's beneficiary is already {current}, not the staking contract "
                f"{staking}; it can never change: deploy a new pool (remove {POOL} and "
                f"{STAKING} from {self.manifest.path})"
            )
        self.deployer.step(
            key,
            title,
            lambda: str(pool.beneficiary()) == staking,
            lambda: pool.set_beneficiary.as_transaction(staking, sender=self.deployer.account),
        )

    def _treasury(self, key: str, title: str) -> None:
        pro, treasury = self._i(PRO), self._treasury_address()
        self.deployer.step(
            key,
            f"{title} {treasury}",
            lambda: str(pro.treasury()) == treasury,
            lambda: pro.set_treasury.as_transaction(treasury, sender=self.deployer.account),
        )

    def _plan(self, plan: Any) -> Callable[[str, str], None]:
        def run(key: str, title: str) -> None:
            pro = self._i(PRO)
            self.deployer.step(
                key,
                title,
                lambda: tuple(pro.plans(plan.plan_id)) == (plan.duration, plan.usd_price),
                lambda: pro.set_plan.as_transaction(
                    plan.plan_id, plan.duration, plan.usd_price, sender=self.deployer.account
                ),
            )

        return run

    def _pay_tokens(self) -> list[tuple[str, Callable[[], str], Callable[[], str], int]]:
        """(label, token, feed, heartbeat) of each stablecoin; addresses read when needed,
        since the mock's are known only once deployed."""
        entries: list[tuple[str, Callable[[], str], Callable[[], str], int]] = []
        if self.config.mock_stablecoin:
            entries.append(
                (
                    STABLECOIN,
                    lambda: self._a(STABLECOIN),
                    lambda: self._a(STABLECOIN_FEED),
                    self.config.feed_heartbeat,
                )
            )
        for entry in self.config.pay_tokens:
            entries.append(
                (entry.token, lambda e=entry: e.token, lambda e=entry: e.feed, entry.heartbeat)
            )
        return entries

    def _pay_token(self, token: Callable, feed: Callable, heartbeat: int):
        def run(key: str, title: str) -> None:
            pro = self._i(PRO)
            self.deployer.step(
                key,
                f"{title} {token()}",
                lambda: tuple(pro.pay_tokens(token()))[:2] == (feed(), heartbeat),
                lambda: pro.set_pay_token.as_transaction(
                    token(), feed(), heartbeat, sender=self.deployer.account
                ),
            )

        return run

    def _payment_provider(self, provider: str) -> Callable[[str, str], None]:
        def run(key: str, title: str) -> None:
            pro = self._i(PRO)
            self.deployer.step(
                key,
                title,
                lambda: bool(pro.is_payment_provider(provider)),
                lambda: pro.set_payment_provider.as_transaction(
                    provider, True, sender=self.deployer.account
                ),
            )

        return run

    def _fund(self, key: str, title: str) -> None:
        token, pool = self._i(TOKEN), self._i(POOL)
        amount = self.config.pool_funding

        def funded() -> bool:
            # What the pool holds plus what it already paid out: fees sent in later
            # cannot make a funded pool look unfunded.
            return token.balanceOf(pool) + pool.total_released() >= amount

        if not funded():
            held = token.balanceOf(self.deployer.account)
            if held < amount:
                self.deployer.echo(
                    f"  {title}  (skipped: the deployer holds {format_sesh(held)}; send "
                    f"{format_sesh(amount)} to the pool {pool.address} to fund it)"
                )
                return
        self.deployer.step(
            key,
            title,
            funded,
            lambda: token.transfer.as_transaction(pool, amount, sender=self.deployer.account),
        )

    # -------------------------------------------------------------- checks

    def _ownership_checks(self) -> list[WireCheck]:
        target = self.config.new_owner
        if not target:
            return []
        return [_ownership_check(name, self._i(name), target) for name in self._owned()]

    def check_wires(self) -> list[WireCheck]:
        """Read every wire back from the chain."""
        from ape.exceptions import ContractLogicError

        config = self.config
        token, pool, staking = self._a(TOKEN), self._a(POOL), self._a(STAKING)
        verifier = self._a(VERIFIER)
        pool_c, staking_c, names, pro = (self._i(n) for n in (POOL, STAKING, NAMES, PRO))
        feed, sequencer, treasury = (
            self._sesh_usd_feed(),
            self._sequencer_feed(),
            self._treasury_address(),
        )
        checks = [
            *self._ownership_checks(),
            *migration_checks(self),
            _equal("staking.TOKEN", staking_c.TOKEN(), token),
            _equal("staking.POOL", staking_c.POOL(), pool),
            _equal("staking.VERIFIER", staking_c.VERIFIER(), verifier),
            _equal("staking.EXTENSION", staking_c.EXTENSION(), self._a(EXTENSION)),
            _equal("pool.TOKEN", pool_c.TOKEN(), token),
            _equal(
                "pool.beneficiary",
                pool_c.beneficiary(),
                # A seeding deployment sets it at `start` (`sesh migrate`).
                ZERO_ADDRESS if staking_c.seeding() else staking,
            ),
            _equal("names.SESH", names.SESH(), token),
            _equal("names.REWARD_POOL", names.REWARD_POOL(), pool),
            _equal("names.sesh_usd_feed", names.sesh_usd_feed(), feed),
            _equal("names.sesh_usd_heartbeat", names.sesh_usd_heartbeat(), config.feed_heartbeat),
            _equal("names.SEQUENCER_UPTIME_FEED", names.SEQUENCER_UPTIME_FEED(), sequencer),
            _equal(
                "names.yearly_prices",
                tuple(names.yearly_prices(i) for i in range(4)),
                config.yearly_prices_usd,
            ),
            _equal("names.premium_start", names.premium_start(), config.premium_start_usd),
            _equal("pro.SESH", pro.SESH(), token),
            _equal("pro.REWARD_POOL", pro.REWARD_POOL(), pool),
            _equal("pro.treasury", pro.treasury(), treasury),
            _equal("pro.SEQUENCER_UPTIME_FEED", pro.SEQUENCER_UPTIME_FEED(), sequencer),
            _equal("pro.pay_tokens(SESH).feed", pro.pay_tokens(token)[0], feed),
        ]
        if config.keeper_feed:
            keeper = config.keeper or str(self.deployer.account.address)
            feed_c = self._i(SESH_USD_FEED)
            checks.append(_equal("SeshUsdFeed.keeper", feed_c.keeper(), keeper))
        for plan in config.plans:
            checks.append(
                _equal(
                    f"pro.plans({plan.plan_id})",
                    tuple(pro.plans(plan.plan_id)),
                    (plan.duration, plan.usd_price),
                )
            )
        for _label, token_fn, feed_fn, heartbeat in self._pay_tokens():
            checks.append(
                _equal(
                    f"pro.pay_tokens({token_fn()})",
                    tuple(pro.pay_tokens(token_fn()))[:2],
                    (feed_fn(), heartbeat),
                )
            )
        for provider in config.payment_providers:
            checks.append(
                _equal(
                    f"pro.is_payment_provider({provider})", pro.is_payment_provider(provider), True
                )
            )
        if config.pool_funding:
            held = self._i(TOKEN).balanceOf(pool) + pool_c.total_released()
            checks.append(
                WireCheck(
                    "pool funded",
                    held >= config.pool_funding,
                    f"{format_sesh(held)} of {format_sesh(config.pool_funding)}",
                    required=False,
                )
            )
        try:
            names.register_price("session", 365 * 86_400)
            checks.append(WireCheck("SESH/USD price readable", True, "names can be priced"))
        except ContractLogicError as exc:
            checks.append(
                WireCheck("SESH/USD price readable", False, str(exc.message), required=False)
            )
        return checks

    # ------------------------------------------------------------- lookups

    def _i(self, name: str) -> Any:
        """The instance of `name`, from this run or the manifest."""
        if name not in self.instances:
            from ape import project

            recorded = self.manifest.contracts.get(name)
            if name == TOKEN and recorded is None:
                recorded = self.manifest.contracts.get(self._token_name())
            if recorded is None:
                raise DeployError(f"{name} is not deployed yet (run `deploy all` first)")
            self.instances[name] = project.get_contract(recorded.contract_type).at(recorded.address)
        return self.instances[name]

    def _a(self, name: str) -> str:
        return str(self._i(name).address)

    def _sesh_usd_feed(self) -> str:
        if self.config.mock_feeds or self.config.keeper_feed:
            return self._a(SESH_USD_FEED)
        assert self.config.sesh_usd_feed is not None
        return self.config.sesh_usd_feed

    def _sequencer_feed(self) -> str:
        if self.config.sequencer == "mock":
            return self._a(SEQUENCER_FEED)
        if self.config.sequencer == "none":
            return ZERO_ADDRESS
        return self.config.sequencer

    def _treasury_address(self) -> str:
        return self.config.treasury or str(self.deployer.account.address)


def _ownership_check(name: str, contract: Any, target: str) -> WireCheck:
    owner, pending = str(contract.owner()), str(contract.pending_owner())
    if owner == target:
        return WireCheck(f"{name}.owner", True, f"{owner} (accepted)")
    if pending == target:
        return WireCheck(
            f"{name}.owner",
            True,
            f"{owner}; {target} is pending: it calls accept_ownership() to take over",
        )
    return WireCheck(f"{name}.owner", False, f"{owner}, expected {target} (pending or owner)")


def _equal(what: str, actual: Any, expected: Any) -> WireCheck:
    actual_text, expected_text = _plain(actual), _plain(expected)
    ok = actual_text == expected_text
    detail = actual_text if ok else f"{actual_text}, expected {expected_text}"
    return WireCheck(what, ok, detail)


def _plain(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    if hasattr(value, "address"):
        return str(value.address)
    return str(value)
