# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Keeper-fed SESH/USD price feed (testnets only)
@custom:contract-name KeeperAggregator
@notice Answers `latestRoundData()` like a Chainlink `AggregatorV3Interface`
        feed, with the answer pushed by one keeper account (`sesh feeds push`).
        Chainlink publishes no SESH/USD feed on Arbitrum Sepolia: a testnet
        deployment uses this instead, and the keeper keeps it fresh within the
        heartbeat the contracts read it with. Unlike `MockAggregator` nobody
        but the keeper can move the price. The deployment refuses it on
        mainnet chain ids (docs/deploying.md, "Price feed").
"""


# @dev Decimals of the answer (8, as Chainlink's USD feeds).
decimals: public(uint8)
# @dev Human-readable description, as Chainlink feeds have.
description: public(String[32])
# @dev The only account that may push an answer or hand the role over.
keeper: public(address)
# @dev The latest round's id (1 for the answer set at deployment).
round_id: public(uint80)
# @dev The latest answer.
answer: public(int256)
# @dev When the latest answer was pushed.
updated_at: public(uint256)


event AnswerUpdated:
    current: indexed(int256)
    round_id: indexed(uint256)
    updated_at: uint256


event KeeperChanged:
    previous: indexed(address)
    keeper: indexed(address)


@deploy
def __init__(decimals_: uint8, answer_: int256, description_: String[32], keeper_: address):
    """
    @param decimals_ Decimals of the answer.
    @param answer_ The first answer (> 0), timestamped now.
    @param description_ E.g. "SESH / USD".
    @param keeper_ The account that pushes answers.
    """
    assert keeper_ != empty(address), "feed: keeper is the zero address"
    self.decimals = decimals_
    self.description = description_
    self.keeper = keeper_
    self._push(answer_)


@external
def push(answer_: int256):
    """
    @notice A fresh round with `answer_`, updated now; only the keeper.
    @param answer_ The new answer (> 0).
    """
    assert msg.sender == self.keeper, "feed: caller is not the keeper"
    self._push(answer_)


@external
def set_keeper(keeper_: address):
    """
    @notice Hand the keeper role to another account; only the keeper.
    @param keeper_ The new keeper (not the zero address).
    """
    assert msg.sender == self.keeper, "feed: caller is not the keeper"
    assert keeper_ != empty(address), "feed: keeper is the zero address"
    log KeeperChanged(previous=self.keeper, keeper=keeper_)
    self.keeper = keeper_


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Chainlink's `latestRoundData()`.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound)
    """
    return self.round_id, self.answer, self.updated_at, self.updated_at, self.round_id


@internal
def _push(answer_: int256):
    assert answer_ > 0, "feed: answer must be positive"
    self.round_id += 1
    self.answer = answer_
    self.updated_at = block.timestamp
    log AnswerUpdated(
        current=answer_, round_id=convert(self.round_id, uint256), updated_at=block.timestamp
    )
