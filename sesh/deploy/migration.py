"""The optional steps of `deploy all` for the move from the old chain (docs/migration.md):
the token converter, the Merkle claim of the old chain's balances and the vesting
factory. Each is off unless its table is in the config:

    [migration.converter]
    old_token = "0x…"              # the token converted from; "mock" on local chains only
    mock_decimals = 9              # the mock's decimals (old_token = "mock")
    rate_numerator = 1             # SESH units per rate_denominator old units
    rate_denominator = 1
    funding = "1000000"            # SESH the deployer funds it with (0: none)

    [migration.claims]
    merkle_root = "0x…"            # `sesh migrate tokens build` prints it
    total = "12345.678"            # SESH, the snapshot's sum; funded by the deployer
    deadline = 1893456000          # unix time, 1 day to 10 years ahead
    sweep_to = "pool"              # "pool" (the reward pool) or an address

    [migration.vesting]
    factory = true
    staking_views = "0x…"          # where allocations read `claimable`; default staking
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sesh.rules.units import format_sesh

CONVERTER = "TokenConverter"
OLD_TOKEN = "OldToken"
MERKLE_CLAIM = "MerkleClaim"
VESTING_BLUEPRINT = "VestingStakingBlueprint"
VESTING_FACTORY = "VestingFactory"
ZERO_ADDRESS = "0x" + "00" * 20
MAX_RATE_TERM = 10**24


@dataclass(frozen=True)
class ConverterConfig:
    old_token: str  # an address, or "mock"
    mock_decimals: int
    rate_numerator: int
    rate_denominator: int
    funding: int


@dataclass(frozen=True)
class ClaimsConfig:
    merkle_root: bytes
    total: int
    deadline: int
    sweep_to: str  # "pool" or an address


@dataclass(frozen=True)
class MigrationConfig:
    converter: ConverterConfig | None = None
    claims: ClaimsConfig | None = None
    vesting_factory: bool = False
    staking_views: str | None = None


def read_migration(reader: Any, local: bool) -> MigrationConfig:
    """The `[migration.*]` tables, checked; `reader` is the config's `_Reader`."""
    table = reader._table("migration")
    converter = claims = None
    if "converter" in table:
        t = _sub(reader, table, "converter")
        old = t.get("old_token")
        if old == "mock":
            if not local:
                raise reader._error(
                    "migration.converter.old_token",
                    "deploys a mock (test-only): allowed only with `chain.local = true`",
                )
        else:
            old = reader._address(t, "migration.converter.old_token", None, "old_token", True)
        converter = ConverterConfig(
            old_token=old,
            mock_decimals=reader._int(
                t, "migration.converter.mock_decimals", 9, 0, 24, "mock_decimals"
            ),
            rate_numerator=reader._int(
                t, "migration.converter.rate_numerator", None, 1, MAX_RATE_TERM, "rate_numerator"
            ),
            rate_denominator=reader._int(
                t,
                "migration.converter.rate_denominator",
                None,
                1,
                MAX_RATE_TERM,
                "rate_denominator",
            ),
            funding=reader._sesh(t, "migration.converter.funding", "0"),
        )
    if "claims" in table:
        t = _sub(reader, table, "claims")
        root = t.get("merkle_root")
        try:
            root_bytes = bytes.fromhex(str(root).removeprefix("0x"))
        except ValueError:
            root_bytes = b""
        if len(root_bytes) != 32 or root_bytes == bytes(32):
            raise reader._error("migration.claims.merkle_root", "must be a 32-byte hex root")
        sweep_to = t.get("sweep_to", "pool")
        if sweep_to != "pool":
            sweep_to = reader._address(t, "migration.claims.sweep_to", None, "sweep_to", True)
        total = reader._sesh(t, "migration.claims.total", "0")
        if total == 0:
            raise reader._error("migration.claims.total", "must be the snapshot's sum, above 0")
        claims = ClaimsConfig(
            merkle_root=root_bytes,
            total=total,
            deadline=reader._int(t, "migration.claims.deadline", None, 1, 2**63, "deadline"),
            sweep_to=sweep_to,
        )
    vesting = _sub(reader, table, "vesting") if "vesting" in table else {}
    views = None
    if "staking_views" in vesting:
        views = reader._address(vesting, "migration.vesting.staking_views", None, "staking_views")
    return MigrationConfig(
        converter=converter,
        claims=claims,
        vesting_factory=reader._bool(vesting, "migration.vesting.factory", False)
        if vesting
        else False,
        staking_views=views,
    )


def _sub(reader: Any, table: dict, name: str) -> dict:
    value = table.get(name)
    if not isinstance(value, dict):
        raise reader._error(f"migration.{name}", "must be a table")
    return value


def migration_steps(deployment: Any) -> list[Any]:
    """The planned steps for `deployment` (a `SuiteDeployment`), in order."""
    from sesh.deploy.suite import POOL, STAKING, TOKEN

    config: MigrationConfig | None = deployment.config.migration
    if config is None:
        return []
    d = deployment
    account = lambda: d.deployer.account  # noqa: E731
    steps = []
    if config.converter is not None:
        c = config.converter
        old_name = OLD_TOKEN
        if c.old_token == "mock":
            steps.append(
                d._contract_step(
                    OLD_TOKEN,
                    f"mock old token ({c.mock_decimals} decimals)",
                    lambda: d._deploy(OLD_TOKEN, "MockLegacyToken", c.mock_decimals),
                )
            )
        else:
            steps.append(
                d._contract_step(
                    OLD_TOKEN,
                    f"old token {c.old_token}",
                    lambda: d.instances.__setitem__(
                        OLD_TOKEN, d.deployer.adopt(OLD_TOKEN, "MockLegacyToken", c.old_token)
                    ),
                )
            )
        steps.append(
            d._contract_step(
                CONVERTER,
                f"TokenConverter(token, old token, {c.rate_numerator}/{c.rate_denominator})",
                lambda: d._deploy(
                    CONVERTER,
                    CONVERTER,
                    d._a(TOKEN),
                    d._a(old_name),
                    c.rate_numerator,
                    c.rate_denominator,
                ),
            )
        )
        if c.funding:
            steps.append(
                d._wire_step(
                    "converter.funding",
                    f"fund the converter with {format_sesh(c.funding)}",
                    _funding(
                        d,
                        CONVERTER,
                        c.funding,
                        lambda: d._i(CONVERTER).total_funded() >= c.funding,
                        lambda: d._i(CONVERTER).fund.as_transaction(c.funding, sender=account()),
                    ),
                )
            )
    if config.claims is not None:
        c2 = config.claims
        steps.append(
            d._contract_step(
                MERKLE_CLAIM,
                f"MerkleClaim(root 0x{c2.merkle_root.hex()[:12]}…, {format_sesh(c2.total)})",
                lambda: d._deploy(
                    MERKLE_CLAIM,
                    MERKLE_CLAIM,
                    d._a(TOKEN),
                    c2.merkle_root,
                    c2.total,
                    c2.deadline,
                    d._a(POOL) if c2.sweep_to == "pool" else c2.sweep_to,
                ),
            )
        )
        steps.append(
            d._wire_step(
                "claims.funding",
                f"fund the Merkle claim with {format_sesh(c2.total)}",
                _funding(
                    d,
                    MERKLE_CLAIM,
                    c2.total,
                    lambda: bool(d._i(MERKLE_CLAIM).funded()),
                    lambda: d._i(MERKLE_CLAIM).fund.as_transaction(sender=account()),
                ),
            )
        )
    if config.vesting_factory:
        steps.append(
            d._contract_step(
                VESTING_BLUEPRINT,
                "VestingStaking blueprint (EIP-5202)",
                lambda: d.instances.__setitem__(
                    VESTING_BLUEPRINT, d.deployer.blueprint(VESTING_BLUEPRINT, "VestingStaking")
                ),
            )
        )
        steps.append(
            d._contract_step(
                VESTING_FACTORY,
                "VestingFactory(token, staking, views, blueprint)",
                lambda: d._deploy(
                    VESTING_FACTORY,
                    VESTING_FACTORY,
                    d._a(TOKEN),
                    d._a(STAKING),
                    config.staking_views or ZERO_ADDRESS,
                    d.manifest.contracts[VESTING_BLUEPRINT].address,
                ),
            )
        )
    return steps


def _funding(
    d: Any, name: str, amount: int, done: Callable[[], bool], make_fund: Callable[[], Any]
) -> Callable[[str, str], None]:
    """approve(contract, amount) then its fund: two transactions, each judged by the chain."""
    from sesh.deploy.suite import TOKEN

    def run(key: str, title: str) -> None:
        token, target = d._i(TOKEN), d._i(name)
        account = d.deployer.account
        if not done():
            held = token.balanceOf(account)
            if held < amount:
                d.deployer.echo(
                    f"  {title}  (skipped: the deployer holds {format_sesh(held)} of "
                    f"{format_sesh(amount)})"
                )
                return
        d.deployer.step(
            f"{key}.approve",
            f"approve {format_sesh(amount)} to {name}",
            lambda: done() or token.allowance(account, target) >= amount,
            lambda: token.approve.as_transaction(target, amount, sender=account),
        )
        d.deployer.step(key, title, done, make_fund)

    return run


def migration_checks(deployment: Any) -> list[Any]:
    """Wires of the migration contracts, read back."""
    from sesh.deploy.suite import POOL, STAKING, TOKEN, WireCheck, _equal

    config: MigrationConfig | None = deployment.config.migration
    if config is None:
        return []
    d = deployment
    checks = []
    if config.converter is not None:
        converter = d._i(CONVERTER)
        checks += [
            _equal("converter.SESH", converter.SESH(), d._a(TOKEN)),
            _equal("converter.OLD_TOKEN", converter.OLD_TOKEN(), d._a(OLD_TOKEN)),
            _equal(
                "converter.rate",
                (converter.RATE_NUMERATOR(), converter.RATE_DENOMINATOR()),
                (config.converter.rate_numerator, config.converter.rate_denominator),
            ),
        ]
    if config.claims is not None:
        claim = d._i(MERKLE_CLAIM)
        checks += [
            _equal("claims.TOKEN", claim.TOKEN(), d._a(TOKEN)),
            _equal("claims.TOTAL", claim.TOTAL(), config.claims.total),
            WireCheck("claims funded", bool(claim.funded()), "fund() pulled the total", False),
        ]
        if config.claims.sweep_to == "pool":
            checks.append(_equal("claims.SWEEP_TO", claim.SWEEP_TO(), d._a(POOL)))
    if config.vesting_factory:
        factory = d._i(VESTING_FACTORY)
        checks.append(_equal("vesting_factory.STAKING", factory.STAKING(), d._a(STAKING)))
    return checks
