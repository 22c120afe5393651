# pragma version ~=0.4.3
# pragma evm-version prague
# pragma optimize codesize
"""
@title Session Name Service (SNS)
@custom:contract-name SessionNameService
@license GNU General Public License v3.0 or later
@notice Human-readable Session names as ERC-721 tokens, so they trade on any
        NFT marketplace, resolving to a Session ID.
        - A name is 3 to 32 characters of `a-z`, `0-9` and `-`, neither
          starting nor ending with `-`; its token id is
          `uint256(keccak256(name))`.
        - Registration is commit-reveal: `commit(make_commitment(name, owner,
          duration, payer, secret))`, then `register(...)` from `payer`
          between 60 seconds and 24 hours later, for at least 28 days.
        - The price is a yearly USD price by the name's length, converted to
          SESH through the SESH/USD feed, rounded up and paid into the reward
          pool. A name whose grace period ended less than 21 days ago also
          carries a premium that decays to zero over those 21 days.
        - A name expires; for 90 days afterwards only `renew` works; then
          anyone may register it anew (the old token is burnt).
        - The owner sets records (Session ID, Lokinet address, wallet); they
          are cleared whenever the name changes hands, so a sold name never
          points at its seller. `resolve(name)` is empty for expired names.
        The contract owner (two-step) sets prices, the premium and the feed
        within bounds, and may pause new commitments and registrations;
        renewals, records and transfers never stop. No owner action and no
        dead oracle can stop renewals: a price rise (at most double) and a
        new feed take effect 30 days after they are announced, ownership
        cannot be renounced, and while the feed cannot be used a renewal is
        priced at the last good SESH/USD answer.
"""


from ethereum.ercs import IERC165
implements: IERC165

from ethereum.ercs import IERC721
implements: IERC721

from snekmate.tokens.interfaces import IERC721Metadata
implements: IERC721Metadata

from snekmate.tokens.interfaces import IERC721Enumerable
implements: IERC721Enumerable

from snekmate.tokens.interfaces import IERC4906
implements: IERC4906

import interfaces.ISessionNameService as ISessionNameService
implements: ISessionNameService

from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import pausable
initializes: pausable

from snekmate.tokens import erc721
initializes: erc721[ownable := ownable]

from .modules import price_feed
initializes: price_feed

from .modules import payments


exports: (
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.getApproved,
    erc721.isApprovedForAll,
    erc721.setApprovalForAll,
    erc721.name,
    erc721.symbol,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    # `erc721.transferFrom` and `erc721.safeTransferFrom` are replaced below:
    # a transfer refuses expired names and clears the name's records. They and
    # `erc721.approve` (also replaced) stay `payable` as ERC-721 declares them,
    # but refuse ETH, which the contract could never send back.
    # `erc721.tokenURI` is replaced by the on-chain JSON below, and
    # `erc721.supportsInterface` by a list without ERC-4494.
    # `erc721.permit`, `erc721.nonces`, `erc721.DOMAIN_SEPARATOR` and
    # `erc721.eip712Domain` (ERC-4494 permits for NFTs) are left out to keep
    # the contract under the 24 KiB code size limit; marketplaces use
    # `approve` and `setApprovalForAll`.
    # `erc721.burn`, `erc721.safe_mint`, `erc721.set_minter` and
    # `erc721.is_minter` are deliberately not exported: names are minted only
    # by `register`, and burnt only when a lapsed name is registered anew.
    # `erc721.transfer_ownership` is replaced by the two-step version;
    # `renounce_ownership` is not exported at all: an owner is needed to move
    # a dead feed, and none must be able to leave the names without one.
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    pausable.paused,
    price_feed.SEQUENCER_UPTIME_FEED,
)


# @dev Names are 3 to 32 bytes long.
MIN_NAME_LENGTH: constant(uint256) = 3
MAX_NAME_LENGTH: constant(uint256) = 32
# @dev A commitment must be this old, and no older than the maximum, to register.
MIN_COMMITMENT_AGE: public(constant(uint256)) = 60
MAX_COMMITMENT_AGE: public(constant(uint256)) = 86400
# @dev Shortest registration and renewal.
MIN_DURATION: public(constant(uint256)) = 28 * 86400
# @dev Longest registration or renewal bought at once (100 years).
MAX_DURATION: public(constant(uint256)) = 100 * 365 * 86400
# @dev After expiry, only renewal works for this long.
GRACE_PERIOD: public(constant(uint256)) = 90 * 86400
# @dev The premium of a name released from grace decays to zero over this time.
PREMIUM_PERIOD: public(constant(uint256)) = 21 * 86400
# @dev Yearly prices are for 365 days.
YEAR: constant(uint256) = 365 * 86400
# @dev Price tiers: 3, 4, 5 and 6-or-more characters.
PRICE_TIERS: constant(uint256) = 4
# @dev Bounds of a tier's yearly price: 0.01 USD to 1,000,000 USD (8 decimals).
MIN_YEARLY_PRICE: constant(uint256) = 10**6
MAX_YEARLY_PRICE: constant(uint256) = 10**14
# @dev Bound of the starting premium: 100,000,000 USD (8 decimals).
MAX_PREMIUM: constant(uint256) = 10**16
# @dev A price rise or a new feed takes effect this long after it is announced,
# so every holder can renew (up to 100 years) on the old terms first.
CHANGE_DELAY: public(constant(uint256)) = 30 * 86400
# @dev A tier's price at most doubles per announced rise.
MAX_PRICE_RISE: constant(uint256) = 2
# @dev Gas given to the checked read of the feed by a renewal: a Chainlink read
# costs far less; a feed burning more is treated as unusable.
_READ_GAS: constant(uint256) = 200_000
# @dev `_last_price` keeps the answer in its low 248 bits and the decimals above.
_ANSWER_MASK: constant(uint256) = 2**248 - 1
# @dev SESH has 9 decimals.
SESH_DECIMALS: constant(uint256) = 9
# @dev `_state` keeps the expiry in its low 64 bits, and this bit while the
# name may have records (so a transfer reads no record slot when it has none).
EXPIRY_MASK: constant(uint256) = 2**64 - 1
HAS_RECORDS: constant(uint256) = 2**64
# @dev Session IDs are 0x05 followed by the 32-byte X25519 key.
SESSION_ID_PREFIX: constant(bytes1) = 0x05
# @dev ERC-165 ids of ERC-165, ERC-721, its metadata and enumeration
# extensions, and ERC-4906 (metadata updates, logged by `renew`).
SUPPORTED_INTERFACES: constant(bytes4[5]) = [
    0x01FFC9A7,
    0x80AC58CD,
    0x5B5E139F,
    0x780E9D63,
    0x49064906,
]
# @dev ASCII codes the name rules use.
_HYPHEN: constant(uint256) = 45
_DIGIT_0: constant(uint256) = 48
_DIGIT_9: constant(uint256) = 57
_LOWER_A: constant(uint256) = 97
_LOWER_Z: constant(uint256) = 122


# @dev SESH, the token names are paid in.
SESH: public(immutable(address))
# @dev The reward pool, which receives every payment.
REWARD_POOL: public(immutable(address))


# @dev Per token id: expiry (low 64 bits) and the HAS_RECORDS bit.
_state: HashMap[uint256, uint256]
# @dev Per token id: the name's bytes, left-aligned (written at first registration).
_labels: HashMap[uint256, bytes32]
# @dev Per token id: the 32-byte key of the Session ID record (0: none).
_session_keys: HashMap[uint256, bytes32]
# @dev Per token id: the Lokinet address record.
_lokinet: HashMap[uint256, bytes32]
# @dev Per token id: the wallet record.
_wallets: HashMap[uint256, address]
# @dev Commitment => when it was made.
commitments: public(HashMap[bytes32, uint256])
# @dev Yearly USD price (8 decimals) of names of 3, 4, 5 and 6+ characters.
yearly_prices: public(uint256[PRICE_TIERS])
# @dev Premium (USD, 8 decimals) of a name the moment its grace period ends.
premium_start: public(uint256)
# @dev The SESH/USD price feed.
sesh_usd_feed: public(address)
# @dev The longest age accepted for the SESH/USD answer, in seconds.
sesh_usd_heartbeat: public(uint256)
# @dev Announced change => when it may be made (0: not announced). A change
# is keccak256(abi_encode("prices", yearly_prices)) for a price rise, or
# keccak256(abi_encode("feed", feed, heartbeat)) for a new feed.
change_due: public(HashMap[bytes32, uint256])
# @dev The last SESH/USD answer a payment used (see _ANSWER_MASK; 0: none).
_last_price: uint256


# @dev A name was registered (`cost` in SESH units, premium included).
event NameRegistered:
    token_id: indexed(uint256)
    name: String[32]
    owner: indexed(address)
    expiry: uint256
    cost: uint256


# @dev A name was renewed by `payer`.
event NameRenewed:
    token_id: indexed(uint256)
    name: String[32]
    payer: indexed(address)
    expiry: uint256
    cost: uint256


# @dev A name's records now hold these values.
event RecordsUpdated:
    token_id: indexed(uint256)
    session_id: Bytes[33]
    lokinet: bytes32
    wallet: address


# @dev A name's records were cleared because it changed hands.
event RecordsCleared:
    token_id: indexed(uint256)


# @dev The owner changed the yearly price tiers.
event YearlyPricesUpdated:
    yearly_prices: uint256[PRICE_TIERS]


# @dev The owner changed the starting premium.
event PremiumUpdated:
    premium_start: uint256


# @dev The owner changed the SESH/USD feed or its heartbeat.
event PriceFeedUpdated:
    feed: indexed(address)
    heartbeat: uint256


# @dev The owner announced a change (see `change_due`), to be made from `due`
# on; the call that announced it carries its terms.
event ChangeAnnounced:
    change: indexed(bytes32)
    due: uint256


@deploy
def __init__(
    sesh: address,
    reward_pool: address,
    sesh_usd_feed: address,
    sesh_usd_heartbeat: uint256,
    sequencer_uptime_feed: address,
    yearly_prices: uint256[PRICE_TIERS],
    premium_start: uint256,
):
    """
    @dev The deployer becomes the owner. The SESH/USD feed must give a usable
         answer now: it is the first last good price (see `renew`).
    @param sesh The SESH token.
    @param reward_pool The reward pool, receiver of every payment (fixed).
    @param sesh_usd_feed The SESH/USD Chainlink feed.
    @param sesh_usd_heartbeat The longest age accepted for its answer, seconds.
    @param sequencer_uptime_feed Arbitrum's sequencer uptime feed (zero address
           on a chain without a sequencer).
    @param yearly_prices Yearly USD prices of 3, 4, 5 and 6+ character names.
    @param premium_start The premium, in USD, when a grace period ends.
    """
    assert sesh != empty(address), "sns: SESH is the zero address"
    assert reward_pool != empty(address), "sns: reward pool is the zero address"
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    erc721.__init__("Session Names", "SNS", "", "Session Names", "1")
    # The erc721 module made the deployer a minter; nothing exported mints.
    erc721.is_minter[msg.sender] = False
    price_feed.__init__(sequencer_uptime_feed)
    SESH = sesh
    REWARD_POOL = reward_pool
    self._set_price_feed(sesh_usd_feed, sesh_usd_heartbeat)
    # The feed must be usable now; its answer is the first last good price.
    answer: uint256 = 0
    decimals: uint256 = 0
    answer, decimals = price_feed._read(sesh_usd_feed, sesh_usd_heartbeat)
    self._record_price(answer, decimals)
    self._check_yearly_prices(yearly_prices)
    self.yearly_prices = yearly_prices
    log YearlyPricesUpdated(yearly_prices=yearly_prices)
    self._set_premium(premium_start)


@external
def commit(commitment: bytes32):
    """
    @notice First step of a registration: records `commitment`, which hides
            the name until `register` reveals it 60 s to 24 h later.
    @dev A commitment cannot be renewed while it is still usable.
    @param commitment `make_commitment(name, owner, duration, payer, secret)`.
    """
    assert not pausable.paused, "sns: paused"
    assert self.commitments[commitment] + MAX_COMMITMENT_AGE < block.timestamp, (
        "sns: commitment already pending"
    )
    self.commitments[commitment] = block.timestamp


@external
@nonreentrant
def register(
    name: String[32], owner: address, duration: uint256, secret: bytes32, max_cost: uint256
) -> uint256:
    """
    @notice Registers `name` for `owner` for `duration` seconds; the caller
            pays the price in SESH (approved to this contract) into the
            reward pool.
    @dev The commitment binds the name, the owner, the duration and the
         caller: a copied reveal sent by anyone else, or for another
         duration, finds no commitment.
    @param name The name (its commitment must be 60 s to 24 h old).
    @param owner Receives the name's token.
    @param duration Seconds, at least 28 days.
    @param secret The secret of the commitment.
    @param max_cost The most SESH units the caller accepts to pay.
    @return uint256 The cost paid, in SESH units.
    """
    return self._register(name, owner, duration, secret, max_cost)


@external
@nonreentrant
def register_with_permit(
    name: String[32],
    owner: address,
    duration: uint256,
    secret: bytes32,
    max_cost: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @notice `register` paid with an EIP-2612 permit instead of an approval.
    @dev The commitment binds the name, the owner, the duration and the caller.
    @param name The name (its commitment must be 60 s to 24 h old).
    @param owner Receives the name's token.
    @param duration Seconds, at least 28 days.
    @param secret The secret of the commitment.
    @param max_cost The most SESH units the caller accepts to pay; the permit
           is signed for this value.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    @return uint256 The cost paid, in SESH units.
    """
    payments._permit(SESH, msg.sender, max_cost, deadline, v, r, s)
    return self._register(name, owner, duration, secret, max_cost)


@external
@nonreentrant
def renew(name: String[32], duration: uint256, max_cost: uint256) -> uint256:
    """
    @notice Extends `name` by `duration` seconds from its current expiry.
            Anyone may pay; it works until the grace period ends, and while
            the contract is paused.
    @param name A registered name.
    @param duration Seconds, at least 28 days.
    @param max_cost The most SESH units the caller accepts to pay.
    @return uint256 The new expiry.
    """
    return self._renew(name, duration, max_cost)


@external
@nonreentrant
def renew_with_permit(
    name: String[32],
    duration: uint256,
    max_cost: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @notice `renew` paid with an EIP-2612 permit instead of an approval.
    @param name A registered name.
    @param duration Seconds, at least 28 days.
    @param max_cost The most SESH units the caller accepts to pay; the permit
           is signed for this value.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    @return uint256 The new expiry.
    """
    payments._permit(SESH, msg.sender, max_cost, deadline, v, r, s)
    return self._renew(name, duration, max_cost)


@external
def set_session_id(name: String[32], session_id: Bytes[33]):
    """
    @notice Points `name` at a Session ID (empty to remove it).
    @dev By the name's owner or an account approved for it, while it has
         not expired.
    @param name A registered name.
    @param session_id 33 bytes: 0x05 followed by the X25519 key; or empty.
    """
    token_id: uint256 = self._check_record_setter(name)
    self._session_keys[token_id] = self._session_key(session_id)
    self._state[token_id] = self._state[token_id] | HAS_RECORDS
    self._log_records(token_id)


@external
def set_records(name: String[32], session_id: Bytes[33], lokinet: bytes32, wallet: address):
    """
    @notice Sets all three records of `name` at once (empty values remove).
    @dev By the name's owner or an account approved for it, while it has
         not expired.
    @param name A registered name.
    @param session_id 33 bytes: 0x05 followed by the X25519 key; or empty.
    @param lokinet The Lokinet address (32 bytes), or zero.
    @param wallet A wallet address, or the zero address.
    """
    token_id: uint256 = self._check_record_setter(name)
    self._session_keys[token_id] = self._session_key(session_id)
    self._lokinet[token_id] = lokinet
    self._wallets[token_id] = wallet
    self._state[token_id] = self._state[token_id] | HAS_RECORDS
    self._log_records(token_id)


@external
@payable
def transferFrom(owner: address, to: address, token_id: uint256):
    """
    @notice Transfers a name; its records are cleared.
    @dev ERC-721 `transferFrom`. Expired names (grace period included)
         cannot change hands.
    @param owner The name's current owner.
    @param to The receiver.
    @param token_id The name's token id.
    """
    self._refuse_eth()
    assert erc721._is_approved_or_owner(msg.sender, token_id), (
        "erc721: caller is not token owner or approved"
    )
    self._before_transfer(owner, to, token_id)
    erc721._transfer(owner, to, token_id)


@external
@payable
def safeTransferFrom(owner: address, to: address, token_id: uint256, data: Bytes[1_024] = b""):
    """
    @notice Transfers a name, checking that a contract receiver accepts
            ERC-721 tokens; its records are cleared.
    @dev ERC-721 `safeTransferFrom` (both selectors). Expired names (grace
         period included) cannot change hands.
    @param owner The name's current owner.
    @param to The receiver.
    @param token_id The name's token id.
    @param data Passed to the receiver's `onERC721Received`.
    """
    self._refuse_eth()
    assert erc721._is_approved_or_owner(msg.sender, token_id), (
        "erc721: caller is not token owner or approved"
    )
    self._before_transfer(owner, to, token_id)
    erc721._safe_transfer(owner, to, token_id, data)


@external
@payable
def approve(to: address, token_id: uint256):
    """
    @notice ERC-721 `approve`: lets `to` transfer `token_id` once (the zero
            address clears the approval). Refuses ETH.
    @dev The caller must own the name or be an operator of its owner.
    @param to The approved account.
    @param token_id The name's token id.
    """
    self._refuse_eth()
    owner: address = erc721._owner_of(token_id)
    assert to != owner, "erc721: approval to current owner"
    assert msg.sender == owner or erc721.isApprovedForAll[owner][msg.sender], (
        "sns: caller may not approve"
    )
    erc721._approve(to, token_id)


@external
def set_yearly_prices(yearly_prices: uint256[PRICE_TIERS]):
    """
    @notice Sets the yearly USD prices (8 decimals) of 3, 4, 5 and 6+
            character names. Lower prices apply at once. A rise is first
            announced (the first call) and made by the same call at least
            `CHANGE_DELAY` later, so every holder can renew at the old
            prices first.
    @dev Owner only. Each within 0.01 to 1,000,000 USD; shorter names never
         cheaper than longer ones; a rise at most doubles a tier's price in
         force when it is made.
    @param yearly_prices The four prices, shortest names first.
    """
    ownable._check_owner()
    # `_check_yearly_prices` and the rise check in one pass (code size).
    previous: uint256 = max_value(uint256)
    rise: bool = False
    for tier: uint256 in range(PRICE_TIERS):
        price: uint256 = yearly_prices[tier]
        assert price >= MIN_YEARLY_PRICE, "sns: yearly price below 0.01 USD"
        assert price <= MAX_YEARLY_PRICE, "sns: yearly price above 1,000,000 USD"
        assert price <= previous, "sns: a longer name priced above a shorter one"
        previous = price
        current: uint256 = self.yearly_prices[tier]
        if price > current:
            rise = True
            assert price <= current * MAX_PRICE_RISE, "sns: price rise above double"
    if rise:
        if self._announced(keccak256(abi_encode("prices", yearly_prices))):
            return
    self.yearly_prices = yearly_prices
    log YearlyPricesUpdated(yearly_prices=yearly_prices)


@external
def set_premium(premium_start: uint256):
    """
    @notice Sets the premium (USD, 8 decimals) a name carries when its grace
            period ends; it decays to zero over 21 days.
    @dev Owner only. At most 100,000,000 USD; zero disables the premium.
    @param premium_start The starting premium.
    """
    ownable._check_owner()
    self._set_premium(premium_start)


@external
def set_price_feed(feed: address, heartbeat: uint256):
    """
    @notice Sets the SESH/USD feed and the longest age accepted for its
            answer: first announced (the first call), then made by the same
            call at least `CHANGE_DELAY` later.
    @dev Owner only. Heartbeat between 60 s and 3 days; the feed must give a
         usable answer (positive, fresh, at most 18 decimals) at both calls.
    @param feed The SESH/USD Chainlink feed.
    @param heartbeat Seconds.
    """
    ownable._check_owner()
    price_feed._check_feed(feed, heartbeat)
    price_feed._read(feed, heartbeat)
    if self._announced(keccak256(abi_encode("feed", feed, heartbeat))):
        return
    self._set_price_feed(feed, heartbeat)


@external
def pause():
    """
    @notice Stops new commitments and registrations (owner only). Renewals,
            records and transfers go on.
    """
    ownable._check_owner()
    pausable._pause()


@external
def unpause():
    """
    @notice Lifts the pause (owner only).
    """
    ownable._check_owner()
    pausable._unpause()


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: whether the contract implements `interface_id`.
    @param interface_id The 4-byte interface id.
    @return bool True for ERC-165, ERC-721 (with metadata and enumeration)
            and ERC-4906.
    """
    return interface_id in SUPPORTED_INTERFACES


@external
@view
def resolve(name: String[32]) -> Bytes[33]:
    """
    @notice The Session ID `name` points at: empty if the name is not
            registered, has expired, or has no Session ID.
    @param name The name.
    @return Bytes[33] 0x05 followed by the X25519 key, or empty.
    """
    token_id: uint256 = self._token_id(name)
    if not self._is_live(token_id):
        return b""
    return self._session_id(token_id)


@external
@view
def records(name: String[32]) -> (Bytes[33], bytes32, address):
    """
    @notice All records of `name`; all empty if it is not registered or has
            expired.
    @param name The name.
    @return Bytes[33] The Session ID, or empty.
    @return bytes32 The Lokinet address, or zero.
    @return address The wallet, or the zero address.
    """
    token_id: uint256 = self._token_id(name)
    if not self._is_live(token_id):
        return b"", empty(bytes32), empty(address)
    return self._session_id(token_id), self._lokinet[token_id], self._wallets[token_id]


@external
@view
def expiry(name: String[32]) -> uint256:
    """
    @notice When `name` expires (0 if it was never registered). After the
            expiry it resolves to nothing; 90 days later anyone may register it.
    @param name The name.
    @return uint256 A timestamp.
    """
    return self._expiry(self._token_id(name))


@external
@view
def available(name: String[32]) -> bool:
    """
    @notice Whether `name` follows the name rules and may be registered now
            (never registered, or past its grace period).
    @param name The name.
    @return bool True if `register` would accept the name.
    """
    if self._name_problem(name) != empty(String[48]):
        return False
    return self._is_available(self._expiry(self._token_id(name)))


@external
@view
def valid(name: String[32]) -> bool:
    """
    @notice Whether `name` follows the name rules (3-32 characters of a-z,
            0-9 and '-', not starting or ending with '-').
    @param name The name.
    @return bool True if the name is valid.
    """
    return self._name_problem(name) == empty(String[48])


@external
@view
def register_price(name: String[32], duration: uint256) -> uint256:
    """
    @notice What registering `name` for `duration` would cost now, in SESH
            units, premium included.
    @dev Reverts when the price feed cannot be trusted (see price_feed).
    @param name The name.
    @param duration Seconds.
    @return uint256 SESH units.
    """
    answer: uint256 = 0
    decimals: uint256 = 0
    answer, decimals = price_feed._read(self.sesh_usd_feed, self.sesh_usd_heartbeat)
    return self._price(
        name, duration, self._premium(self._expiry(self._token_id(name))), answer, decimals
    )


@external
@view
def renew_price(name: String[32], duration: uint256) -> uint256:
    """
    @notice What renewing `name` for `duration` would cost now, in SESH units.
    @dev At the last good SESH/USD answer while the feed cannot be used;
         reverts only if no payment ever used a good answer.
    @param name The name.
    @param duration Seconds.
    @return uint256 SESH units.
    """
    return self._renew_cost(name, duration)


@external
@view
def premium(name: String[32]) -> uint256:
    """
    @notice The premium (USD, 8 decimals) registering `name` would carry now.
    @param name The name.
    @return uint256 USD with 8 decimals (0 outside the 21 days after grace).
    """
    return self._premium(self._expiry(self._token_id(name)))


@external
@view
def name_of(token_id: uint256) -> String[32]:
    """
    @notice The name of a token id (empty if it was never registered).
    @param token_id The token id.
    @return String The name.
    """
    return self._name_of(token_id)


@external
@view
def tokenURI(token_id: uint256) -> String[512]:
    """
    @notice ERC-721 metadata: a JSON data URI (base64) with the name and its
            expiry, built on chain.
    @param token_id The token id (must exist).
    @return String `data:application/json;base64,...`
    """
    erc721._require_minted(token_id)
    name: String[32] = self._name_of(token_id)
    json: String[288] = concat(
        '{"name":"',
        name,
        '","description":"Session name ',
        name,
        '","attributes":[{"trait_type":"Expiry","display_type":"date","value":',
        uint2str(convert(self._expiry(token_id), uint64)),
        '},{"trait_type":"Length","display_type":"number","value":',
        uint2str(convert(len(name), uint8)),
        "}]}",
    )
    return concat("data:application/json;base64,", self._base64(convert(json, Bytes[288])))


@internal
def _register(
    name: String[32], owner: address, duration: uint256, secret: bytes32, max_cost: uint256
) -> uint256:
    """
    @dev `register` and `register_with_permit`.
    """
    assert not pausable.paused, "sns: paused"
    self._check_name(name)
    self._check_duration(duration)
    assert owner != empty(address), "sns: owner is the zero address"
    commitment: bytes32 = self._commitment(name, owner, duration, msg.sender, secret)
    committed_at: uint256 = self.commitments[commitment]
    assert committed_at != 0, "sns: no commitment for this registration"
    assert block.timestamp >= committed_at + MIN_COMMITMENT_AGE, "sns: commitment too new"
    assert block.timestamp <= committed_at + MAX_COMMITMENT_AGE, "sns: commitment expired"

    token_id: uint256 = self._token_id(name)
    state: uint256 = self._state[token_id]
    old_expiry: uint256 = state & EXPIRY_MASK
    assert self._is_available(old_expiry), "sns: name not available"
    answer: uint256 = 0
    decimals: uint256 = 0
    answer, decimals = price_feed._read(self.sesh_usd_feed, self.sesh_usd_heartbeat)
    self._record_price(answer, decimals)
    cost: uint256 = self._price(name, duration, self._premium(old_expiry), answer, decimals)
    assert cost <= max_cost, "sns: cost above max_cost"

    self.commitments[commitment] = 0
    if old_expiry == 0:
        self._labels[token_id] = convert(convert(name, Bytes[32]), bytes32)
    elif erc721._exists(token_id):
        # The lapsed registration's token is burnt with its records.
        if state & HAS_RECORDS != 0:
            self._clear_records(token_id)
        erc721._burn(token_id)
    new_expiry: uint256 = block.timestamp + duration
    self._state[token_id] = new_expiry
    erc721._mint(owner, token_id)
    payments._pull(SESH, msg.sender, REWARD_POOL, cost)
    log NameRegistered(token_id=token_id, name=name, owner=owner, expiry=new_expiry, cost=cost)
    return cost


@internal
def _renew(name: String[32], duration: uint256, max_cost: uint256) -> uint256:
    """
    @dev `renew` and `renew_with_permit`.
    """
    token_id: uint256 = self._token_id(name)
    assert erc721._exists(token_id), "sns: name not registered"
    state: uint256 = self._state[token_id]
    old_expiry: uint256 = state & EXPIRY_MASK
    assert block.timestamp < old_expiry + GRACE_PERIOD, "sns: name past its grace period"
    self._check_duration(duration)
    cost: uint256 = self._renew_cost(name, duration)
    assert cost <= max_cost, "sns: cost above max_cost"

    new_expiry: uint256 = old_expiry + duration
    assert new_expiry <= EXPIRY_MASK, "sns: expiry too far"
    self._state[token_id] = (state & HAS_RECORDS) | new_expiry
    payments._pull(SESH, msg.sender, REWARD_POOL, cost)
    log NameRenewed(token_id=token_id, name=name, payer=msg.sender, expiry=new_expiry, cost=cost)
    log IERC4906.MetadataUpdate(_tokenId=token_id)
    return new_expiry


@internal
def _before_transfer(owner: address, to: address, token_id: uint256):
    """
    @dev Refuses expired names and clears the records of a name changing hands.
    """
    state: uint256 = self._state[token_id]
    assert block.timestamp < state & EXPIRY_MASK, "sns: name expired"
    if owner != to and state & HAS_RECORDS != 0:
        self._clear_records(token_id)
        self._state[token_id] = state & EXPIRY_MASK


@internal
def _clear_records(token_id: uint256):
    """
    @dev Empties the three records (the caller clears HAS_RECORDS).
    """
    self._session_keys[token_id] = empty(bytes32)
    self._lokinet[token_id] = empty(bytes32)
    self._wallets[token_id] = empty(address)
    log RecordsCleared(token_id=token_id)


@internal
def _check_record_setter(name: String[32]) -> uint256:
    """
    @dev The token id of `name`, if the caller may set its records now.
    """
    token_id: uint256 = self._token_id(name)
    assert erc721._exists(token_id), "sns: name not registered"
    assert block.timestamp < self._expiry(token_id), "sns: name expired"
    assert erc721._is_approved_or_owner(msg.sender, token_id), (
        "sns: caller is not the name's owner or approved"
    )
    return token_id


@internal
@pure
def _check_yearly_prices(yearly_prices: uint256[PRICE_TIERS]):
    previous: uint256 = max_value(uint256)
    for price: uint256 in yearly_prices:
        assert price >= MIN_YEARLY_PRICE, "sns: yearly price below 0.01 USD"
        assert price <= MAX_YEARLY_PRICE, "sns: yearly price above 1,000,000 USD"
        assert price <= previous, "sns: a longer name priced above a shorter one"
        previous = price


@internal
def _set_premium(premium_start: uint256):
    assert premium_start <= MAX_PREMIUM, "sns: premium above 100,000,000 USD"
    self.premium_start = premium_start
    log PremiumUpdated(premium_start=premium_start)


@internal
def _set_price_feed(feed: address, heartbeat: uint256):
    price_feed._check_feed(feed, heartbeat)
    self.sesh_usd_feed = feed
    self.sesh_usd_heartbeat = heartbeat
    log PriceFeedUpdated(feed=feed, heartbeat=heartbeat)


@internal
@pure
def _session_key(session_id: Bytes[33]) -> bytes32:
    """
    @dev The 32-byte key of a Session ID (zero for an empty one).
    """
    if len(session_id) == 0:
        return empty(bytes32)
    assert len(session_id) == 33 and convert(slice(session_id, 0, 1), bytes1) == SESSION_ID_PREFIX, (
        "sns: Session ID is not 0x05 and 32 bytes"
    )
    key: bytes32 = extract32(session_id, 1)
    assert key != empty(bytes32), "sns: Session ID key is zero"
    return key


@internal
def _log_records(token_id: uint256):
    log RecordsUpdated(
        token_id=token_id,
        session_id=self._session_id(token_id),
        lokinet=self._lokinet[token_id],
        wallet=self._wallets[token_id],
    )


@internal
@view
def _session_id(token_id: uint256) -> Bytes[33]:
    key: bytes32 = self._session_keys[token_id]
    if key == empty(bytes32):
        return b""
    return concat(SESSION_ID_PREFIX, key)


@internal
@view
def _expiry(token_id: uint256) -> uint256:
    return self._state[token_id] & EXPIRY_MASK


@internal
@view
def _is_live(token_id: uint256) -> bool:
    """
    @dev Registered and not expired. A token burnt and never re-registered
         keeps no state, so the expiry alone decides.
    """
    return block.timestamp < self._expiry(token_id)


@internal
@view
def _is_available(expiry: uint256) -> bool:
    """
    @dev Never registered, or past its grace period.
    """
    return expiry == 0 or block.timestamp >= expiry + GRACE_PERIOD


@internal
@view
def _premium(expiry: uint256) -> uint256:
    """
    @dev The premium (USD, 8 decimals) of a name whose registration expired
         at `expiry`, now. It halves every day from `premium_start` when the
         grace period ends (linearly within each day), shifted down by its
         value at 21 days so that it reaches exactly zero then.
    """
    if expiry == 0:
        return 0
    released_at: uint256 = expiry + GRACE_PERIOD
    if block.timestamp < released_at:
        return 0
    elapsed: uint256 = block.timestamp - released_at
    if elapsed >= PREMIUM_PERIOD:
        return 0
    start: uint256 = self.premium_start
    days: uint256 = elapsed // 86400
    into_day: uint256 = elapsed % 86400
    # start / 2**days, falling linearly to half of that over the day.
    value: uint256 = start * (2 * 86400 - into_day) // (2 * 86400 * 2**days)
    residue: uint256 = start // 2**(PREMIUM_PERIOD // 86400)
    if value <= residue:
        return 0
    return value - residue


@internal
@view
def _renew_cost(name: String[32], duration: uint256) -> uint256:
    """
    @dev What renewing costs: `register_price` (no premium while a name can
         be renewed), called on this contract so that when the feed cannot
         be used (any revert, gas capped) the renewal is priced at the last
         answer a registration used instead: no dead oracle or unusable feed
         stops a renewal. Without any such answer, the feed's reason.
    """
    ok: bool = False
    data: Bytes[32] = b""
    ok, data = raw_call(
        self,
        abi_encode(name, duration, method_id=method_id("register_price(string,uint256)")),
        max_outsize=32,
        gas=_READ_GAS,
        is_static_call=True,
        revert_on_failure=False,
    )
    if ok:
        return extract32(data, 0, output_type=uint256)
    # Never zero: the constructor records the feed's first answer.
    last: uint256 = self._last_price
    return self._price(name, duration, 0, last & _ANSWER_MASK, last >> 248)


@internal
@payable
def _refuse_eth():
    """
    @dev ERC-721 declares transfers and `approve` payable; ETH sent with them
         could never leave the contract, so it is refused (one revert site).
    """
    assert msg.value == 0, "sns: ETH not accepted"


@internal
def _announced(change: bytes32) -> bool:
    """
    @dev For a change that must wait `CHANGE_DELAY`: announces it and returns
         True if it was not announced yet; returns False (and forgets it),
         so the caller makes it, once it is due; reverts before.
    """
    due: uint256 = self.change_due[change]
    if due == 0:
        due = block.timestamp + CHANGE_DELAY
        self.change_due[change] = due
        log ChangeAnnounced(change=change, due=due)
        return True
    assert due <= block.timestamp, "sns: change not yet due"
    self.change_due[change] = 0
    return False


@internal
def _record_price(answer: uint256, decimals: uint256):
    """
    @dev Keeps the answer a payment used, for renewals while the feed is down.
    """
    if answer <= _ANSWER_MASK:
        self._last_price = answer | (decimals << 248)


@internal
@view
def _price(
    name: String[32], duration: uint256, premium_usd: uint256, answer: uint256, decimals: uint256
) -> uint256:
    """
    @dev SESH units for `duration` seconds of `name` plus `premium_usd`,
         converted at `answer` (`decimals`) with a single rounding up.
    """
    length: uint256 = len(name)
    tier: uint256 = min(max(length, MIN_NAME_LENGTH) - MIN_NAME_LENGTH, PRICE_TIERS - 1)
    usd_times_year: uint256 = self.yearly_prices[tier] * duration + premium_usd * YEAR
    return price_feed._tokens_at(usd_times_year, YEAR, answer, decimals, SESH_DECIMALS)


@internal
@pure
def _token_id(name: String[32]) -> uint256:
    return convert(keccak256(name), uint256)


@internal
@pure
def _commitment(
    name: String[32], owner: address, duration: uint256, payer: address, secret: bytes32
) -> bytes32:
    return keccak256(abi_encode(keccak256(name), owner, duration, payer, secret))


@internal
@pure
def _check_duration(duration: uint256):
    assert duration >= MIN_DURATION, "sns: duration shorter than 28 days"
    assert duration <= MAX_DURATION, "sns: duration longer than 100 years"


@internal
@pure
def _check_name(name: String[32]):
    problem: String[48] = self._name_problem(name)
    assert problem == empty(String[48]), problem


@internal
@pure
def _name_problem(name: String[32]) -> String[48]:
    """
    @dev Why `name` breaks the name rules, as a revert reason; empty if it
         follows them.
    """
    length: uint256 = len(name)
    if length < MIN_NAME_LENGTH:
        return "sns: name shorter than 3 characters"
    word: uint256 = convert(convert(convert(name, Bytes[32]), bytes32), uint256)
    for i: uint256 in range(MAX_NAME_LENGTH):
        if i == length:
            break
        char: uint256 = (word >> (248 - 8 * i)) & 255
        if char == _HYPHEN:
            if i == 0 or i == length - 1:
                return "sns: name starts or ends with '-'"
        elif not (
            (char >= _LOWER_A and char <= _LOWER_Z) or (char >= _DIGIT_0 and char <= _DIGIT_9)
        ):
            return "sns: name has a character not in a-z 0-9 -"
    return ""


@internal
@view
def _name_of(token_id: uint256) -> String[32]:
    """
    @dev The stored name: its bytes up to the first zero byte (names hold no
         zero byte).
    """
    label: bytes32 = self._labels[token_id]
    word: uint256 = convert(label, uint256)
    length: uint256 = 0
    for i: uint256 in range(MAX_NAME_LENGTH):
        if (word >> (248 - 8 * i)) & 255 == 0:
            break
        length += 1
    return convert(slice(concat(label, b""), 0, length), String[32])


@internal
@pure
def _base64(data: Bytes[288]) -> String[384]:
    """
    @dev Standard base64 (RFC 4648, with '=' padding) of `data`. Each 3-byte
         group becomes 4 characters, packed 32 to a word; the words are then
         sliced into one string.
    """
    length: uint256 = len(data)
    padded: Bytes[320] = concat(data, empty(bytes32))
    words: DynArray[bytes32, 12] = []
    word: uint256 = 0
    count: uint256 = 0
    for group: uint256 in range(96):
        start: uint256 = 3 * group
        if start >= length:
            break
        # The group's 3 bytes as a 24-bit number (zero past the end).
        bits: uint256 = convert(extract32(padded, start), uint256) >> 232
        present: uint256 = min(length - start, 3)
        for k: uint256 in range(4):
            char: uint256 = 61  # '='
            if k <= present:
                sextet: uint256 = (bits >> (18 - 6 * k)) & 63
                if sextet < 26:
                    char = sextet + 65  # 'A'..'Z'
                elif sextet < 52:
                    char = sextet + 71  # 'a'..'z'
                elif sextet < 62:
                    char = sextet - 4  # '0'..'9'
                elif sextet == 62:
                    char = 43  # '+'
                else:
                    char = 47  # '/'
            word = (word << 8) | char
            count += 1
        if count % 32 == 0:
            words.append(convert(word, bytes32))
            word = 0
    if count % 32 != 0:
        words.append(convert(word << (8 * (32 - count % 32)), bytes32))
    encoded: Bytes[416] = abi_encode(words, ensure_tuple=False)
    return convert(slice(encoded, 32, count), String[384])
