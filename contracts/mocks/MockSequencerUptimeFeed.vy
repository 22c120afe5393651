# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock Chainlink L2 sequencer uptime feed (tests only)
@custom:contract-name MockSequencerUptimeFeed
@notice Answers `latestRoundData()` as Chainlink's Arbitrum sequencer uptime
        feed does: `answer` 0 while the sequencer is up, 1 while it is down,
        and `startedAt` the time of the last change of status (0 while the
        feed is not initialised).
"""


# @dev 1 while the sequencer is down, 0 while it is up.
status: public(int256)
# @dev When the sequencer last changed status (0: feed not initialised).
since: public(uint256)
# @dev The latest round's id.
round_id: public(uint80)


@deploy
def __init__(up_since: uint256):
    """
    @param up_since When the sequencer came up (0: an uninitialised feed).
    """
    self.since = up_since
    self.round_id = 1


@external
def set_status(down: bool, since_: uint256):
    """
    @notice Reports the sequencer down or up since `since_`.
    @param down True while the sequencer is down.
    @param since_ When that status began.
    """
    self.status = 1 if down else 0
    self.since = since_
    self.round_id += 1


@external
@view
def latestRoundData() -> (uint80, int256, uint256, uint256, uint80):
    """
    @notice Chainlink's `latestRoundData()` for the sequencer uptime feed.
    @return (roundId, answer, startedAt, updatedAt, answeredInRound)
    """
    return self.round_id, self.status, self.since, self.since, self.round_id
