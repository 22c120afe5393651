# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock Chainlink price feed (tests only)
@custom:contract-name MockAggregator
@notice Answers `latestRoundData()` like a Chainlink `AggregatorV3Interface`
        feed; tests set the answer and its timestamps, including the broken
        ones (zero, negative, stale, in the future) a real feed might report.
"""


# @dev Decimals of the answer (8 for Chainlink's USD feeds).
decimals: public(uint8)
# @dev Human-readable description, as Chainlink feeds have.
description: public(String[32])
# @dev The latest round's id.
round_id: public(uint80)
# @dev The latest answer.
answer: public(int256)
# @dev When the latest round started.
started_at: public(uint256)
# @dev When the latest answer was written.
updated_at: public(uint256)


@deploy
def __init__(decimals_: uint8, answer_: int256, description_: String[32]):
    """
    @param decimals_ Decimals of the answer.
    @param answer_ The first answer, timestamped now.
    @param description_ E.g. "SESH / USD".
    """
    self.decimals = decimals_
    self.description = description_
    self._set(answer_, block.timestamp, block.timestamp)


@external
def set_answer(answer_: int256):
    """
    @notice A fresh round with `answer_`, started and updated now.
    @param answer_ The new answer.
    """
    self._set(answer_, block.timestamp, block.timestamp)


@external
def set_round(answer_: int256, started_at_: uint256, updated_at_: uint256):
    """
    @notice A new round with any answer and timestamps (for failure tests).
    @param answer_ The new answer.
    @param started_at_ When the round started.
    @param updated_at_ When the answer was written (0: never).
    """
    self._set(answer_, started_at_, updated_at_)


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Chainlink's `latestRoundData()`.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound)
    """
    return self.round_id, self.answer, self.started_at, self.updated_at, self.round_id


@internal
def _set(answer_: int256, started_at_: uint256, updated_at_: uint256):
    self.round_id += 1
    self.answer = answer_
    self.started_at = started_at_
    self.updated_at = updated_at_
