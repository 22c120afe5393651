"""The deployment configuration: `deploy/<network>.toml`, read and checked before anything
is sent.

One file per target chain says which chain ids it may deploy to, whether to deploy SESH or
use an existing (bridged) one, where the price feeds are (or that mocks stand in for them
on a local chain), the names' and Pro's prices, the roles to grant and how much SESH goes
into the reward pool. `deploy/local.toml` and `deploy/sepolia.toml` are commented examples.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sesh.deploy.migration import MigrationConfig, read_migration
from sesh.rules.prices import USD
from sesh.rules.units import to_units

DAY = 86_400
DEFAULT_DIRECTORY = Path("deploy")
# Arbitrum One, Nova and Sepolia: their prices must be read behind the sequencer uptime feed.
ARBITRUM_CHAIN_IDS = (42161, 42170, 421614)
# Public chains a file may never declare local (mocks there would price real payments).
PUBLIC_CHAIN_IDS = (1, 11155111, *ARBITRUM_CHAIN_IDS)
# Chains with real value: a price feed one key sets (the keeper feed) is refused there.
MAINNET_CHAIN_IDS = (1, 42161, 42170)
# `feeds.sesh_usd = "keeper"`: a SESH/USD feed the keeper pushes (testnets, local chains).
KEEPER_FEED = "keeper"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class ConfigError(Exception):
    """A deployment configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class PlanConfig:
    plan_id: int
    duration: int
    usd_price: int


@dataclass(frozen=True)
class PayTokenConfig:
    token: str
    feed: str
    heartbeat: int


@dataclass(frozen=True)
class SuiteConfig:
    """Everything `deploy all` needs to know beyond the contracts' code."""

    path: Path
    chain_ids: tuple[int, ...]
    token_address: str | None = None
    token_contract_type: str = "SessionToken"
    genesis_receiver: str | None = None
    pool_funding: int = 40_000_000 * 10**9
    mock_feeds: bool = False
    mock_sesh_usd: int = 25 * USD // 100
    sesh_usd_feed: str | None = None
    feed_heartbeat: int = DAY
    # feeds.sesh_usd = "keeper": deploy a KeeperAggregator at `keeper_sesh_usd` USD whose
    # answer only `keeper` (default: the deploying account) pushes (`sesh feeds push`).
    keeper_feed: bool = False
    keeper_sesh_usd: int = 25 * USD // 100
    keeper: str | None = None
    # "mock", "none" or an address.
    sequencer: str = "none"
    yearly_prices_usd: tuple[int, ...] = (640 * USD, 160 * USD, 20 * USD, 5 * USD)
    premium_start_usd: int = 100_000 * USD
    treasury: str | None = None
    payment_providers: tuple[str, ...] = ()
    plans: tuple[PlanConfig, ...] = ()
    pay_tokens: tuple[PayTokenConfig, ...] = ()
    mock_stablecoin: bool = False
    # [ownership] transfer_to: the address (a multisig) every contract's ownership is
    # handed to as the last steps; it accepts with accept_ownership() (two-step).
    new_owner: str | None = None
    # [pool] seeding: deploy the staking contract in its seeding phase (the running
    # network's nodes are imported with `sesh migrate`, which also starts it and sets the
    # pool's beneficiary then); false: live at once.
    seeding: bool = False
    # [migration.*]: the optional converter, Merkle claim and vesting factory.
    migration: MigrationConfig | None = None

    def check_chain(self, chain_id: int) -> None:
        """Refuse a chain this file is not written for."""
        if chain_id not in self.chain_ids:
            wanted = ", ".join(str(i) for i in self.chain_ids)
            raise ConfigError(
                f"{self.path} is for chain id {wanted}, but the connected chain is {chain_id}; "
                "pick the config for this network with --config"
            )


def default_config_path(network_name: str, directory: Path = DEFAULT_DIRECTORY) -> Path:
    """`deploy/local.toml` for local chains, else `deploy/<network>.toml`."""
    if network_name in ("local", "devnet"):
        return directory / "local.toml"
    return directory / f"{network_name}.toml"


def load_config(path: Path | str) -> SuiteConfig:
    """Read and check a deployment configuration file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no deployment config {path}; see deploy/*.toml for examples") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    reader = _Reader(path, data)
    return reader.config()


class _Reader:
    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = path
        self.data = data

    def config(self) -> SuiteConfig:
        chain = self._table("chain")
        ids = chain.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise self._error("chain.ids", "must be a list of chain ids, e.g. [421614]")
        local = self._bool(chain, "chain.local", False)
        public = sorted(set(ids) & set(PUBLIC_CHAIN_IDS))
        if local and public:
            raise self._error("chain.local", f"cannot be true with public chain ids {public}")
        token = self._table("token")
        pool = self._table("pool")
        feeds = self._table("feeds")
        names = self._table("names")
        pro = self._table("pro")

        mock_feeds = self._bool(feeds, "feeds.mock", False)
        keeper_feed = not mock_feeds and feeds.get("sesh_usd") == KEEPER_FEED
        if keeper_feed:
            mainnets = sorted(set(ids) & set(MAINNET_CHAIN_IDS))
            if mainnets:
                raise self._error(
                    "feeds.sesh_usd",
                    f'= "{KEEPER_FEED}" is for testnets: on mainnet chain ids {mainnets} one '
                    "key would set the price of real payments; give Chainlink's SESH/USD feed",
                )
            sesh_usd_feed = None
        else:
            sesh_usd_feed = None if mock_feeds else self._address(feeds, "feeds.sesh_usd", None)
        if keeper_feed and self._usd(feeds, "feeds.keeper_sesh_usd", "0.25") <= 0:
            raise self._error("feeds.keeper_sesh_usd", "must be a price above 0 USD")
        if not mock_feeds and not keeper_feed and sesh_usd_feed is None:
            raise self._error(
                "feeds.sesh_usd",
                f'needed (a SESH/USD feed address, or "{KEEPER_FEED}" on a testnet) unless mock',
            )
        sequencer = feeds.get("sequencer", "none")
        if sequencer not in ("mock", "none"):
            sequencer = self._address(feeds, "feeds.sequencer", None)
        arbitrum = sorted(set(ids) & set(ARBITRUM_CHAIN_IDS))
        if arbitrum and sequencer in ("mock", "none"):
            raise self._error(
                "feeds.sequencer",
                f"must be the address of the L2 sequencer uptime feed on Arbitrum (chain ids "
                f"{arbitrum}); {sequencer!r} would turn the sequencer checks off",
            )
        mock_stablecoin = self._bool(pro, "pro.mock_stablecoin", False)
        mocks = [
            key
            for key, used in (
                ("feeds.mock", mock_feeds),
                ("feeds.sequencer", sequencer == "mock"),
                ("pro.mock_stablecoin", mock_stablecoin),
            )
            if used
        ]
        if mocks and not local:
            raise self._error(
                mocks[0],
                "deploys a mock (test-only, anyone may set its price or mint): allowed only "
                "in a file declaring `chain.local = true`",
            )
        prices = names.get("yearly_prices_usd", ["640", "160", "20", "5"])
        if not isinstance(prices, list) or len(prices) != 4:
            raise self._error("names.yearly_prices_usd", "must list 4 prices (3, 4, 5, 6+ chars)")

        return SuiteConfig(
            path=self.path,
            chain_ids=tuple(ids),
            token_address=self._address(token, "token.address", None),
            token_contract_type=self._choice(
                token, "token.contract_type", ("SessionToken", "SessionTokenL2"), "SessionToken"
            ),
            genesis_receiver=self._address(token, "token.genesis_receiver", None),
            pool_funding=self._sesh(pool, "pool.funding", "40000000"),
            mock_feeds=mock_feeds,
            mock_sesh_usd=self._usd(feeds, "feeds.mock_sesh_usd", "0.25"),
            sesh_usd_feed=sesh_usd_feed,
            keeper_feed=keeper_feed,
            keeper_sesh_usd=self._usd(feeds, "feeds.keeper_sesh_usd", "0.25"),
            keeper=self._address(feeds, "feeds.keeper", None),
            feed_heartbeat=self._int(feeds, "feeds.heartbeat", DAY, 60, 3 * DAY),
            sequencer=sequencer,
            yearly_prices_usd=tuple(
                self._usd({"p": p}, f"names.yearly_prices_usd[{i}]", None, "p")
                for i, p in enumerate(prices)
            ),
            premium_start_usd=self._usd(names, "names.premium_start_usd", "100000"),
            treasury=self._address(pro, "pro.treasury", None),
            payment_providers=tuple(
                self._address({"a": a}, "pro.payment_providers", None, "a", required=True)
                for a in pro.get("payment_providers", [])
            ),
            plans=tuple(self._plan(i, p) for i, p in enumerate(pro.get("plans", []))),
            pay_tokens=tuple(self._pay_token(i, t) for i, t in enumerate(pro.get("tokens", []))),
            mock_stablecoin=mock_stablecoin,
            new_owner=self._new_owner(),
            seeding=self._bool(pool, "pool.seeding", False),
            migration=read_migration(self, local) if "migration" in self.data else None,
        )

    def _new_owner(self) -> str | None:
        """`[ownership] transfer_to`, EIP-55 checksummed: a typo here would hand the whole
        suite to an address nobody holds."""
        from eth_utils import to_checksum_address

        where = "ownership.transfer_to"
        value = self._address(self._table("ownership"), where, None, "transfer_to")
        if value is not None and value != to_checksum_address(value):
            raise self._error(where, f"has no valid EIP-55 checksum: {value} (a typo?)")
        return value

    def _plan(self, index: int, table: Any) -> PlanConfig:
        where = f"pro.plans[{index}]"
        if not isinstance(table, dict):
            raise self._error(where, "must be a table with id, days, usd")
        return PlanConfig(
            plan_id=self._int(table, f"{where}.id", None, 0, 2**64, "id"),
            duration=self._int(table, f"{where}.days", None, 1, 3 * 365, "days") * DAY,
            usd_price=self._usd(table, f"{where}.usd", None, "usd"),
        )

    def _pay_token(self, index: int, table: Any) -> PayTokenConfig:
        where = f"pro.tokens[{index}]"
        if not isinstance(table, dict):
            raise self._error(where, "must be a table with token, feed, heartbeat")
        return PayTokenConfig(
            token=self._address(table, f"{where}.token", None, "token", required=True),
            feed=self._address(table, f"{where}.feed", None, "feed", required=True),
            heartbeat=self._int(table, f"{where}.heartbeat", DAY, 60, 3 * DAY, "heartbeat"),
        )

    def _table(self, name: str) -> dict[str, Any]:
        table = self.data.get(name, {})
        if not isinstance(table, dict):
            raise self._error(name, "must be a table")
        return table

    def _error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key} {problem}")

    @staticmethod
    def _name(where: str, name: str | None) -> str:
        return name or where.rsplit(".", 1)[-1]

    def _address(self, table, where, default, name=None, required=False) -> str | None:
        value = table.get(self._name(where, name), default)
        if value is None or value == "":
            if required:
                raise self._error(where, "is required")
            return None
        if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
            raise self._error(where, f"is not an address: {value!r}")
        return value

    def _bool(self, table, where, default) -> bool:
        value = table.get(self._name(where, None), default)
        if not isinstance(value, bool):
            raise self._error(where, "must be true or false")
        return value

    def _int(self, table, where, default, low, high, name=None) -> int:
        value = table.get(self._name(where, name), default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self._error(where, f"must be a whole number from {low} to {high}")
        return value

    def _choice(self, table, where, choices, default) -> str:
        value = table.get(self._name(where, None), default)
        if value not in choices:
            raise self._error(where, f"must be one of {', '.join(choices)}")
        return value

    def _decimal(self, table, where, default, name=None) -> Decimal:
        value = table.get(self._name(where, name), default)
        if value is None:
            raise self._error(where, "is required")
        try:
            number = Decimal(str(value).replace("_", ""))
        except InvalidOperation:
            raise self._error(where, f"is not a number: {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self._error(where, f"is not a positive number: {value!r}")
        return number

    def _usd(self, table, where, default, name=None) -> int:
        number = self._decimal(table, where, default, name) * USD
        if number != number.to_integral_value():
            raise self._error(where, "has more than 8 decimals")
        return int(number)

    def _sesh(self, table, where, default) -> int:
        try:
            return to_units(self._decimal(table, where, default))
        except ValueError as exc:
            raise self._error(where, str(exc)) from None
