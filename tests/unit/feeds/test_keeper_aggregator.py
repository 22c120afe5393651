"""The testnet SESH/USD feed (contracts/mocks/KeeperAggregator.vy), on titanoboa: only its
keeper pushes a price or hands the role over; every push is a fresh Chainlink round; a
price of 0 or below is refused."""

from __future__ import annotations

import boa
import pytest

from tests.property.boa_helpers import deployer_for

PRICE = 25_000_000  # 0.25 USD, 8 decimals
DAY = 86_400


@pytest.fixture(scope="module")
def feed_code():
    return deployer_for("mocks/KeeperAggregator.vy")


@pytest.fixture
def keeper():
    return boa.env.generate_address("keeper")


@pytest.fixture
def attacker():
    return boa.env.generate_address("attacker")


@pytest.fixture
def feed(feed_code, keeper):
    return feed_code.deploy(8, PRICE, "SESH / USD", keeper)


def test_deploy__answers_the_first_price_as_round_1_timestamped_now(feed, keeper):
    now = boa.env.evm.patch.timestamp
    assert feed.latestRoundData() == (1, PRICE, now, now, 1)
    assert (feed.decimals(), feed.description(), feed.keeper()) == (8, "SESH / USD", keeper)


def test_deploy__without_a_keeper_or_with_no_price__is_refused(feed_code, keeper):
    with boa.reverts("feed: keeper is the zero address"):
        feed_code.deploy(8, PRICE, "SESH / USD", "0x" + "00" * 20)
    with boa.reverts("feed: answer must be positive"):
        feed_code.deploy(8, 0, "SESH / USD", keeper)


def test_push__by_the_keeper__is_a_fresh_round_at_the_new_price(feed, keeper):
    boa.env.time_travel(seconds=DAY - 1)
    now = boa.env.evm.patch.timestamp
    with boa.env.prank(keeper):
        feed.push(PRICE * 2)
    assert feed.latestRoundData() == (2, PRICE * 2, now, now, 2)


def test_push__by_anyone_else__is_refused_and_the_price_stays(feed, attacker):
    before = feed.latestRoundData()
    with boa.env.prank(attacker), boa.reverts("feed: caller is not the keeper"):
        feed.push(1)
    assert feed.latestRoundData() == before


@pytest.mark.parametrize("answer", [0, -1, -(2**255)])
def test_push__a_price_of_zero_or_below__is_refused(feed, keeper, answer):
    with boa.env.prank(keeper), boa.reverts("feed: answer must be positive"):
        feed.push(answer)


def test_set_keeper__hands_the_role_over_and_the_old_keeper_loses_it(feed, keeper, attacker):
    successor = boa.env.generate_address("successor")
    with boa.env.prank(attacker), boa.reverts("feed: caller is not the keeper"):
        feed.set_keeper(attacker)
    with boa.env.prank(keeper), boa.reverts("feed: keeper is the zero address"):
        feed.set_keeper("0x" + "00" * 20)
    with boa.env.prank(keeper):
        feed.set_keeper(successor)
    assert feed.keeper() == successor
    with boa.env.prank(keeper), boa.reverts("feed: caller is not the keeper"):
        feed.push(PRICE)
    with boa.env.prank(successor):
        feed.push(PRICE + 1)
    assert feed.latestRoundData()[1] == PRICE + 1
