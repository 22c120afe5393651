# pragma version ~=0.4.3
"""
@title Safe reading of Chainlink price feeds
@custom:contract-name price_feed
@license GNU General Public License v3.0 or later
@notice Converts USD amounts (8 decimals) into token amounts through a
        Chainlink `AggregatorV3Interface` feed quoting the token in USD, and
        refuses every answer that cannot be trusted:
        - on Arbitrum, while the L2 sequencer uptime feed reports the
          sequencer down, and for `SEQUENCER_GRACE_PERIOD` after it came back
          up (and while that feed is not initialised: `startedAt == 0`);
        - answers that are zero or negative;
        - answers never updated (`updatedAt == 0`), updated in the future, or
          older than the feed's heartbeat.
        `answeredInRound` is deliberately ignored (Chainlink deprecated it).
        The module keeps one immutable, the sequencer uptime feed; each
        contract keeps its own feeds and heartbeats and passes them in.
        Reverts are prefixed `price_feed:` whichever contract uses the module.
"""


interface AggregatorV3:
    def decimals() -> uint8: view
    def latestRoundData() -> (uint80, int256, uint256, uint256, uint80): view


# @dev USD amounts carry 8 decimals (DESIGN §2).
USD_DECIMALS: constant(uint256) = 8
# @dev How long after the sequencer came back up answers stay refused.
SEQUENCER_GRACE_PERIOD: constant(uint256) = 3600
# @dev Bounds of a feed's heartbeat (the owner's setters stay inside them).
MIN_HEARTBEAT: constant(uint256) = 60
MAX_HEARTBEAT: constant(uint256) = 3 * 86400
# @dev Feeds with more decimals than this are refused (keeps the maths far
# from overflow; Chainlink's USD feeds have 8).
MAX_FEED_DECIMALS: constant(uint256) = 18


# @dev Chainlink's L2 sequencer uptime feed, or the zero address on a chain
# without a sequencer (Ethereum, a local devnet).
SEQUENCER_UPTIME_FEED: public(immutable(address))


@deploy
def __init__(sequencer_uptime_feed: address):
    """
    @dev The sequencer uptime feed is fixed for the life of the contract.
    @param sequencer_uptime_feed The L2 sequencer uptime feed, or the zero
           address where there is no sequencer.
    """
    SEQUENCER_UPTIME_FEED = sequencer_uptime_feed


@internal
@view
def _check_feed(feed: address, heartbeat: uint256):
    """
    @dev Reverts unless `feed` is a contract and `heartbeat` is within bounds.
         Setters call it; it does not read the answer (a feed may be stale at
         the moment it is configured).
    @param feed The price feed.
    @param heartbeat The longest age accepted for the feed's answer, in seconds.
    """
    assert feed.is_contract, "price_feed: feed is not a contract"
    assert heartbeat >= MIN_HEARTBEAT, "price_feed: heartbeat below 60 s"
    assert heartbeat <= MAX_HEARTBEAT, "price_feed: heartbeat above 3 days"
    assert convert(staticcall AggregatorV3(feed).decimals(), uint256) <= MAX_FEED_DECIMALS, (
        "price_feed: feed has more than 18 decimals"
    )


@internal
@view
def _check_sequencer():
    """
    @dev Reverts while the L2 sequencer is down or came back up less than
         `SEQUENCER_GRACE_PERIOD` ago. Does nothing without a sequencer feed.
    """
    if SEQUENCER_UPTIME_FEED == empty(address):
        return
    answer: int256 = 0
    started_at: uint256 = 0
    _: uint256 = 0
    round_id: uint80 = 0
    answered_in_round: uint80 = 0
    round_id, answer, started_at, _, answered_in_round = staticcall AggregatorV3(
        SEQUENCER_UPTIME_FEED
    ).latestRoundData()
    assert answer == 0, "price_feed: sequencer down"
    assert started_at != 0, "price_feed: sequencer feed not initialised"
    assert started_at <= block.timestamp, "price_feed: sequencer status in the future"
    assert block.timestamp - started_at >= SEQUENCER_GRACE_PERIOD, (
        "price_feed: sequencer back up less than an hour ago"
    )


@internal
@view
def _read(feed: address, heartbeat: uint256) -> (uint256, uint256):
    """
    @dev The feed's latest answer, checked, and its decimals.
    @param feed The price feed.
    @param heartbeat The longest age accepted for the answer, in seconds.
    @return uint256 The answer (always positive).
    @return uint256 The number of decimals of the answer.
    """
    self._check_sequencer()
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint256 = 0
    round_id: uint80 = 0
    answered_in_round: uint80 = 0
    round_id, answer, _, updated_at, answered_in_round = staticcall AggregatorV3(
        feed
    ).latestRoundData()
    assert answer > 0, "price_feed: answer not positive"
    assert updated_at != 0, "price_feed: answer never updated"
    assert updated_at <= block.timestamp, "price_feed: answer from the future"
    assert block.timestamp - updated_at <= heartbeat, "price_feed: answer is stale"
    decimals: uint256 = convert(staticcall AggregatorV3(feed).decimals(), uint256)
    assert decimals <= MAX_FEED_DECIMALS, "price_feed: feed has more than 18 decimals"
    return convert(answer, uint256), decimals


@internal
@pure
def _tokens_at(
    usd_numerator: uint256,
    usd_denominator: uint256,
    answer: uint256,
    feed_decimals: uint256,
    token_decimals: uint256,
) -> uint256:
    """
    @dev The token amount worth `usd_numerator / usd_denominator` USD (8
         decimals) at the price `answer` of `feed_decimals` decimals, rounded
         up: the formula of `_usd_to_tokens`, for a caller holding an answer.
    """
    numerator: uint256 = usd_numerator * 10**token_decimals * 10**feed_decimals
    denominator: uint256 = usd_denominator * answer * 10**USD_DECIMALS
    # Safe: `denominator` is positive (callers pass a positive answer and divisor).
    return unsafe_div(numerator + denominator - 1, denominator)


@internal
@view
def _usd_to_tokens(
    usd_numerator: uint256,
    usd_denominator: uint256,
    feed: address,
    heartbeat: uint256,
    token_decimals: uint256,
) -> uint256:
    """
    @dev The token amount worth `usd_numerator / usd_denominator` USD (8
         decimals), at the feed's price, rounded up: the payer never pays
         less than the USD price. One division, so there is one rounding.
         amount = ceil(usd * 10**token_decimals * 10**feed_decimals
                       / (denominator * answer * 10**8))
    @param usd_numerator The USD amount (8 decimals) times `usd_denominator`.
    @param usd_denominator The divisor of `usd_numerator` (1 for a plain amount).
    @param feed The token's USD price feed.
    @param heartbeat The longest age accepted for the answer, in seconds.
    @param token_decimals The token's decimals.
    @return uint256 The amount in the token's units.
    """
    answer: uint256 = 0
    feed_decimals: uint256 = 0
    answer, feed_decimals = self._read(feed, heartbeat)
    return self._tokens_at(usd_numerator, usd_denominator, answer, feed_decimals, token_decimals)
