# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Session Pro subscriptions
@custom:contract-name SessionPro
@license GNU General Public License v3.0 or later
@notice Session Pro is bought for a Pro public key (the user's Ed25519 key),
        never for a wallet, so the paying wallet stays unlinked from the
        Session ID; anyone may pay for any key.
        - Plans `(duration, usd_price)` are set by the owner.
        - `subscribe` charges a plan's USD price in an allowed token through
          that token's USD feed (rounded up, bounded by `max_amount`) and
          extends the key's expiry to `max(now, expiry) + duration`. SESH
          goes to the reward pool; other tokens (stablecoins) to the treasury.
        - A plan id keeps the terms it was first given for good (removing a
          plan retires its id), so `subscribe` buys what the caller saw.
        - A payment provider (fiat and app-store purchases) may `grant` time
          once per receipt id of its own, and `revoke` its receipt to refund
          it (the owner may revoke any): what is left of the granted time is
          taken back, and nothing more.
        The owner (two-step) sets plans, tokens, the treasury and the payment
        providers within bounds, and may pause new subscriptions and grants;
        revocations never stop.
"""


from ethereum.ercs import IERC20Detailed

import interfaces.ISessionPro as ISessionPro
implements: ISessionPro



from snekmate.auth import ownable
initializes: ownable

from snekmate.auth import ownable_2step
initializes: ownable_2step[ownable := ownable]

from snekmate.utils import pausable
initializes: pausable

from .modules import price_feed
initializes: price_feed

from .modules import payments


exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
    # `renounce_ownership` is deliberately left out: without an owner no
    # revocation, pay token or feed could ever be fixed again.
    pausable.paused,
    price_feed.SEQUENCER_UPTIME_FEED,
)


# @dev Bounds of a plan's or a grant's duration: 1 day to 3 years.
MIN_DURATION: public(constant(uint256)) = 86400
MAX_DURATION: public(constant(uint256)) = 3 * 365 * 86400
# @dev Bounds of a plan's price: 0.01 USD to 10,000 USD (8 decimals).
MIN_USD_PRICE: public(constant(uint256)) = 10**6
MAX_USD_PRICE: public(constant(uint256)) = 10**12
# @dev Pay tokens with more decimals than this are refused.
MAX_TOKEN_DECIMALS: constant(uint256) = 24
# @dev A grant's terms are packed in one word: the end of the granted period
# (bits 0-63), its duration (64-95), its place among the key's grants (96-159,
# counted from 1), the key's revoked seconds when granted (160-223) and the
# revoked flag (bit 224).
_WORD64: constant(uint256) = 2**64 - 1
_WORD32: constant(uint256) = 2**32 - 1
_REVOKED: constant(uint256) = 2**224
# @dev Bound of the loops over a key's grant tree (places are below 2**64).
_TREE_DEPTH: constant(uint256) = 64


struct Plan:
    duration: uint256
    usd_price: uint256


struct PayToken:
    feed: address
    heartbeat: uint256
    decimals: uint256


# @dev SESH: its payments go to the reward pool.
SESH: public(immutable(address))
# @dev The reward pool, receiver of every SESH payment (fixed).
REWARD_POOL: public(immutable(address))


# @dev Receiver of payments in tokens other than SESH.
treasury: public(address)
# @dev Plan id => plan (duration 0: no such plan).
_plans: HashMap[uint256, Plan]
# @dev Plan id => whether it was ever given terms (its terms never change).
_plan_ids_used: HashMap[uint256, bool]
# @dev Token => its USD feed, the feed's heartbeat and the token's decimals
# (feed zero: not accepted).
_pay_tokens: HashMap[address, PayToken]
# @dev Accounts allowed to grant and revoke (the PAYMENT_PROVIDER role).
is_payment_provider: public(HashMap[address, bool])
# @dev Pro public key => when its Pro ends.
pro_expiry: public(HashMap[bytes32, uint256])
# @dev Pro public key => seconds taken back from it by revocations, in total.
revoked_seconds: public(HashMap[bytes32, uint256])
# @dev Pro public key => how many grants it received (the last grant's place).
_grant_count: HashMap[bytes32, uint256]
# @dev Pro public key => node => seconds revoked from the grants the node
# covers: a Fenwick tree over the key's grants by place, node `n` covering
# places `n` to `n + lowbit(n) - 1`, so the seconds revoked from the grants
# after a place are summed, and a revocation recorded, in at most 64 steps.
_revoked_by_place: HashMap[bytes32, HashMap[uint256, uint256]]
# @dev Payment provider => its receipt id => the Pro public key it granted
# to (zero: unused receipt). Each provider has its own receipt ids.
_grant_keys: HashMap[address, HashMap[bytes32, bytes32]]
# @dev Payment provider => its receipt id => the grant's packed terms (see
# _WORD64).
_grant_terms: HashMap[address, HashMap[bytes32, uint256]]


# @dev Pro was bought for `pro_pubkey` (see docs/interfaces.md).
event ProSubscribed:
    pro_pubkey: indexed(bytes32)
    payer: indexed(address)
    plan_id: uint256
    token: address
    amount: uint256
    expiry: uint256


# @dev A payment provider granted Pro for a receipt.
event ProGranted:
    pro_pubkey: indexed(bytes32)
    receipt_id: indexed(bytes32)
    duration: uint256
    expiry: uint256


# @dev A payment provider revoked a receipt's grant.
event ProRevoked:
    pro_pubkey: indexed(bytes32)
    receipt_id: indexed(bytes32)
    expiry: uint256


# @dev The owner created, changed or removed (duration 0) a plan.
event PlanUpdated:
    plan_id: indexed(uint256)
    duration: uint256
    usd_price: uint256


# @dev The owner allowed a token (or changed its feed), or removed it (feed 0).
event PayTokenUpdated:
    token: indexed(address)
    feed: address
    heartbeat: uint256


# @dev The owner changed the treasury.
event TreasuryUpdated:
    treasury: indexed(address)


# @dev The owner gave or took the payment provider role.
event PaymentProviderUpdated:
    account: indexed(address)
    allowed: bool


@deploy
def __init__(
    sesh: address,
    reward_pool: address,
    treasury: address,
    sesh_usd_feed: address,
    sesh_usd_heartbeat: uint256,
    sequencer_uptime_feed: address,
):
    """
    @dev The deployer becomes the owner. SESH is accepted from the start,
         priced by `sesh_usd_feed`; plans are added with `set_plan`.
    @param sesh The SESH token.
    @param reward_pool The reward pool, receiver of SESH payments (fixed).
    @param treasury Receiver of payments in other tokens.
    @param sesh_usd_feed The SESH/USD Chainlink feed.
    @param sesh_usd_heartbeat The longest age accepted for its answer, seconds.
    @param sequencer_uptime_feed Arbitrum's sequencer uptime feed (zero address
           on a chain without a sequencer).
    """
    assert sesh != empty(address), "pro: SESH is the zero address"
    assert reward_pool != empty(address), "pro: reward pool is the zero address"
    ownable.__init__()
    ownable_2step.__init__()
    pausable.__init__()
    price_feed.__init__(sequencer_uptime_feed)
    SESH = sesh
    REWARD_POOL = reward_pool
    self._set_treasury(treasury)
    self._set_pay_token(sesh, sesh_usd_feed, sesh_usd_heartbeat)


@external
@nonreentrant
def subscribe(pro_pubkey: bytes32, plan_id: uint256, pay_token: address, max_amount: uint256) -> uint256:
    """
    @notice Buys plan `plan_id` for `pro_pubkey`, paid by the caller in
            `pay_token` (approved to this contract): the key's Pro is
            extended to `max(now, expiry) + duration`.
    @param pro_pubkey The Pro public key (Ed25519, 32 bytes).
    @param plan_id The plan.
    @param pay_token SESH or another allowed token.
    @param max_amount The most the caller accepts to pay, in the token's units.
    @return uint256 The key's new expiry.
    """
    return self._subscribe(pro_pubkey, plan_id, pay_token, max_amount)


@external
@nonreentrant
def subscribe_with_permit(
    pro_pubkey: bytes32,
    plan_id: uint256,
    pay_token: address,
    max_amount: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @notice `subscribe` paid with an EIP-2612 permit instead of an approval.
    @param pro_pubkey The Pro public key (Ed25519, 32 bytes).
    @param plan_id The plan.
    @param pay_token SESH or another allowed token implementing EIP-2612.
    @param max_amount The most the caller accepts to pay; the permit is
           signed for this value.
    @param deadline The permit's deadline.
    @param v The permit signature's v.
    @param r The permit signature's r.
    @param s The permit signature's s.
    @return uint256 The key's new expiry.
    """
    assert self._pay_tokens[pay_token].feed != empty(address), "pro: token not accepted"
    payments._permit(pay_token, msg.sender, max_amount, deadline, v, r, s)
    return self._subscribe(pro_pubkey, plan_id, pay_token, max_amount)


@external
def grant(pro_pubkey: bytes32, duration: uint256, receipt_id: bytes32) -> uint256:
    """
    @notice Grants `duration` seconds of Pro to `pro_pubkey` for a purchase
            made outside the chain (fiat, app stores), once per receipt.
    @dev Payment providers only. Receipt ids are the caller's own: two
         providers may use the same id for different purchases.
    @param pro_pubkey The Pro public key.
    @param duration Seconds, 1 day to 3 years.
    @param receipt_id The purchase's receipt id (unique per purchase and
           provider).
    @return uint256 The key's new expiry.
    """
    assert self.is_payment_provider[msg.sender], "pro: caller is not a payment provider"
    assert not pausable.paused, "pro: paused"
    assert pro_pubkey != empty(bytes32), "pro: Pro public key is zero"
    assert receipt_id != empty(bytes32), "pro: receipt id is zero"
    assert self._grant_keys[msg.sender][receipt_id] == empty(bytes32), "pro: receipt already used"
    self._check_duration(duration)
    expiry: uint256 = max(block.timestamp, self.pro_expiry[pro_pubkey]) + duration
    assert expiry <= _WORD64, "pro: expiry too far"
    place: uint256 = self._grant_count[pro_pubkey] + 1
    revoked: uint256 = self.revoked_seconds[pro_pubkey]
    # Unreachable bounds, checked so the packing can never truncate: each
    # grant adds one place and each revocation at most 3 years.
    assert place <= _WORD64 and revoked <= _WORD64, "pro: too many grants"
    self.pro_expiry[pro_pubkey] = expiry
    self._grant_count[pro_pubkey] = place
    self._grant_keys[msg.sender][receipt_id] = pro_pubkey
    self._grant_terms[msg.sender][receipt_id] = (
        expiry | (duration << 64) | (place << 96) | (revoked << 160)
    )
    log ProGranted(pro_pubkey=pro_pubkey, receipt_id=receipt_id, duration=duration, expiry=expiry)
    return expiry


@external
def revoke(provider: address, receipt_id: bytes32) -> uint256:
    """
    @notice Revokes the grant `provider` made for `receipt_id` (a refund):
            the key loses exactly what is left of the granted period, never
            paid or other granted time.
    @dev The granting provider while it holds the role, or the owner; works
         while paused. A key's time is its
         paid and granted periods laid end to end in the order they were
         bought. Revoking a period removes what is left of it and moves the
         later periods earlier by as much; so a grant's period has moved by
         the seconds revoked, since it was granted, from grants placed
         before it, which is every second revoked from the key since then
         minus those revoked from grants placed after it (a tree sum over
         the key's grants, at most 64 steps).
    @param provider The payment provider that made the grant.
    @param receipt_id The provider's receipt whose grant is revoked.
    @return uint256 The key's expiry after the revocation.
    """
    assert (msg.sender == provider and self.is_payment_provider[msg.sender]) or (
        msg.sender == ownable.owner
    ), "pro: caller is neither the granting provider nor the owner"
    pro_pubkey: bytes32 = self._grant_keys[provider][receipt_id]
    assert pro_pubkey != empty(bytes32), "pro: unknown receipt"
    terms: uint256 = self._grant_terms[provider][receipt_id]
    assert terms & _REVOKED == 0, "pro: receipt already revoked"
    duration: uint256 = (terms >> 64) & _WORD32
    place: uint256 = (terms >> 96) & _WORD64
    revoked: uint256 = self.revoked_seconds[pro_pubkey]
    moved: uint256 = (
        revoked - ((terms >> 160) & _WORD64) - self._revoked_after(pro_pubkey, place)
    )
    end: uint256 = terms & _WORD64
    end = end - moved if end > moved else 0
    expiry: uint256 = self.pro_expiry[pro_pubkey]
    unused: uint256 = 0
    if end > block.timestamp:
        start: uint256 = end - duration if end > duration else 0
        # `min` is a guard only: the moved period always ends by the expiry.
        unused = min(end - max(block.timestamp, start), expiry - block.timestamp)
    if unused != 0:
        expiry -= unused
        self.pro_expiry[pro_pubkey] = expiry
        self.revoked_seconds[pro_pubkey] = revoked + unused
        self._record_revoked(pro_pubkey, place, unused)
    self._grant_terms[provider][receipt_id] = terms | _REVOKED
    log ProRevoked(pro_pubkey=pro_pubkey, receipt_id=receipt_id, expiry=expiry)
    return expiry


@external
def set_plan(plan_id: uint256, duration: uint256, usd_price: uint256):
    """
    @notice Creates plan `plan_id`, or removes it (duration and price 0).
    @dev Owner only. Duration 1 day to 3 years; price 0.01 to 10,000 USD
         (8 decimals). A plan id keeps its first terms for good and a
         removed id is never reused, so a `subscribe` sent for a plan buys
         exactly the terms the payer read: new terms take a new id.
    @param plan_id Any id never given terms before (or the plan to remove).
    @param duration Seconds of Pro the plan buys.
    @param usd_price USD with 8 decimals.
    """
    ownable._check_owner()
    if duration != 0 or usd_price != 0:
        assert not self._plan_ids_used[plan_id], "pro: plan id already used"
        self._check_duration(duration)
        assert usd_price >= MIN_USD_PRICE, "pro: price below 0.01 USD"
        assert usd_price <= MAX_USD_PRICE, "pro: price above 10,000 USD"
        self._plan_ids_used[plan_id] = True
    else:
        assert self._plans[plan_id].duration != 0, "pro: unknown plan"
    self._plans[plan_id] = Plan(duration=duration, usd_price=usd_price)
    log PlanUpdated(plan_id=plan_id, duration=duration, usd_price=usd_price)


@external
def set_pay_token(token: address, feed: address, heartbeat: uint256):
    """
    @notice Accepts `token` as payment, priced by its USD `feed`, or changes
            the feed of an accepted token.
    @dev Owner only. Heartbeat 60 s to 3 days. The token's decimals are read
         once, here.
    @param token The token (SESH, or a stablecoin paid to the treasury).
    @param feed The token's USD Chainlink feed.
    @param heartbeat The longest age accepted for the feed's answer, seconds.
    """
    ownable._check_owner()
    self._set_pay_token(token, feed, heartbeat)


@external
def remove_pay_token(token: address):
    """
    @notice Stops accepting `token` as payment (owner only).
    @param token An accepted token.
    """
    ownable._check_owner()
    assert self._pay_tokens[token].feed != empty(address), "pro: token not accepted"
    self._pay_tokens[token] = empty(PayToken)
    log PayTokenUpdated(token=token, feed=empty(address), heartbeat=0)


@external
def set_treasury(treasury: address):
    """
    @notice Sets the receiver of payments in tokens other than SESH (owner only).
    @param treasury The new treasury.
    """
    ownable._check_owner()
    self._set_treasury(treasury)


@external
def set_payment_provider(account: address, allowed: bool):
    """
    @notice Gives or takes the payment provider role (owner only).
    @param account The provider's account.
    @param allowed True to give the role, False to take it.
    """
    ownable._check_owner()
    assert account != empty(address), "pro: payment provider is the zero address"
    self.is_payment_provider[account] = allowed
    log PaymentProviderUpdated(account=account, allowed=allowed)


@external
def pause():
    """
    @notice Stops new subscriptions and grants (owner only); revocations go on.
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
def is_pro(pro_pubkey: bytes32) -> bool:
    """
    @notice Whether `pro_pubkey` has Pro now.
    @param pro_pubkey The Pro public key.
    @return bool True until the key's expiry.
    """
    return block.timestamp < self.pro_expiry[pro_pubkey]


@external
@view
def plans(plan_id: uint256) -> (uint256, uint256):
    """
    @notice A plan's terms.
    @param plan_id The plan id.
    @return uint256 Seconds of Pro the plan buys (0: no such plan).
    @return uint256 Its price, USD with 8 decimals.
    """
    plan: Plan = self._plans[plan_id]
    return plan.duration, plan.usd_price


@external
@view
def pay_tokens(token: address) -> (address, uint256, uint256):
    """
    @notice How a token is priced, if it is accepted.
    @param token The token.
    @return address Its USD feed (zero: not accepted).
    @return uint256 The feed's heartbeat, seconds.
    @return uint256 The token's decimals.
    """
    pay_token: PayToken = self._pay_tokens[token]
    return pay_token.feed, pay_token.heartbeat, pay_token.decimals


@external
@view
def grants(provider: address, receipt_id: bytes32) -> (bytes32, uint256, uint256, bool):
    """
    @notice What a provider's receipt granted.
    @param provider The payment provider.
    @param receipt_id The provider's receipt id.
    @return bytes32 The Pro public key (zero: the receipt was never used).
    @return uint256 The end of the granted period when it was granted.
    @return uint256 The granted duration, seconds.
    @return bool Whether the grant was revoked.
    """
    terms: uint256 = self._grant_terms[provider][receipt_id]
    return (
        self._grant_keys[provider][receipt_id],
        terms & _WORD64,
        (terms >> 64) & _WORD32,
        terms & _REVOKED != 0,
    )


@external
@view
def quote(plan_id: uint256, pay_token: address) -> uint256:
    """
    @notice What `subscribe` would charge now for `plan_id` in `pay_token`.
    @dev Reverts when the feed cannot be trusted (see price_feed).
    @param plan_id The plan.
    @param pay_token An accepted token.
    @return uint256 The amount in the token's units.
    """
    return self._amount(plan_id, pay_token)


@internal
def _subscribe(pro_pubkey: bytes32, plan_id: uint256, pay_token: address, max_amount: uint256) -> uint256:
    """
    @dev `subscribe` and `subscribe_with_permit`.
    """
    assert not pausable.paused, "pro: paused"
    assert pro_pubkey != empty(bytes32), "pro: Pro public key is zero"
    amount: uint256 = self._amount(plan_id, pay_token)
    assert amount <= max_amount, "pro: amount above max_amount"
    expiry: uint256 = max(block.timestamp, self.pro_expiry[pro_pubkey]) + self._plans[plan_id].duration
    self.pro_expiry[pro_pubkey] = expiry
    receiver: address = REWARD_POOL if pay_token == SESH else self.treasury
    payments._pull(pay_token, msg.sender, receiver, amount)
    log ProSubscribed(
        pro_pubkey=pro_pubkey,
        payer=msg.sender,
        plan_id=plan_id,
        token=pay_token,
        amount=amount,
        expiry=expiry,
    )
    return expiry


@internal
@view
def _amount(plan_id: uint256, pay_token: address) -> uint256:
    """
    @dev The plan's USD price in `pay_token` units at its feed's price, rounded up.
    """
    plan: Plan = self._plans[plan_id]
    assert plan.duration != 0, "pro: unknown plan"
    token: PayToken = self._pay_tokens[pay_token]
    assert token.feed != empty(address), "pro: token not accepted"
    return price_feed._usd_to_tokens(plan.usd_price, 1, token.feed, token.heartbeat, token.decimals)


@internal
@view
def _revoked_after(pro_pubkey: bytes32, place: uint256) -> uint256:
    """
    @dev Seconds revoked from the key's grants placed after `place`: the tree
         nodes from `place + 1` upwards by lowbit, up to the key's last place.
    """
    last: uint256 = self._grant_count[pro_pubkey]
    node: uint256 = place + 1
    total: uint256 = 0
    for _: uint256 in range(_TREE_DEPTH + 1):
        if node > last:
            break
        total += self._revoked_by_place[pro_pubkey][node]
        # Safe: `node` is below 2**64, so adding its lowest set bit cannot overflow.
        node = unsafe_add(node, node & unsafe_sub(0, node))
    return total


@internal
def _record_revoked(pro_pubkey: bytes32, place: uint256, seconds: uint256):
    """
    @dev Adds `seconds` revoked at `place` to every tree node covering it: the
         nodes from `place` downwards, clearing the lowest set bit each time.
    """
    node: uint256 = place
    for _: uint256 in range(_TREE_DEPTH):
        if node == 0:
            break
        self._revoked_by_place[pro_pubkey][node] += seconds
        # Safe: `node` is positive, so `node - 1` cannot wrap.
        node = node & unsafe_sub(node, 1)


@internal
def _set_pay_token(token: address, feed: address, heartbeat: uint256):
    assert token.is_contract, "pro: token is not a contract"
    price_feed._check_feed(feed, heartbeat)
    decimals: uint256 = convert(staticcall IERC20Detailed(token).decimals(), uint256)
    assert decimals <= MAX_TOKEN_DECIMALS, "pro: token has more than 24 decimals"
    self._pay_tokens[token] = PayToken(feed=feed, heartbeat=heartbeat, decimals=decimals)
    log PayTokenUpdated(token=token, feed=feed, heartbeat=heartbeat)


@internal
def _set_treasury(treasury: address):
    assert treasury != empty(address), "pro: treasury is the zero address"
    self.treasury = treasury
    log TreasuryUpdated(treasury=treasury)


@internal
@pure
def _check_duration(duration: uint256):
    assert duration >= MIN_DURATION, "pro: duration shorter than 1 day"
    assert duration <= MAX_DURATION, "pro: duration longer than 3 years"
