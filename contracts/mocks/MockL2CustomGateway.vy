# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock of Arbitrum's L2 custom gateway (tests only)
@custom:contract-name MockL2CustomGateway
@notice Stands in for Arbitrum's `L2CustomGateway` on a single local chain,
        with the real gateway's rules: only the counterpart L1 gateway
        registers tokens and finalizes deposits; a deposit is minted only if
        the registered L2 token is a contract whose `l1Address()` is the L1
        token, otherwise it is sent back to the depositor on L1 (the real
        gateway triggers a withdrawal); a withdrawal is refused unless the L2
        token is deployed and answers that same `l1Address()`. Withdrawals
        burn before releasing the escrow on L1.
"""


interface IArbToken:
    def bridgeMint(account: address, amount: uint256): nonpayable
    def bridgeBurn(account: address, amount: uint256): nonpayable


interface IL1Addressed:
    def l1Address() -> address: view


interface IMockL1Gateway:
    def finalize_withdrawal(l1_token: address, to: address, amount: uint256): nonpayable


# @dev The L1 gateway mock this gateway talks to.
counterpart: public(address)
# @dev L1 token => its L2 token.
l1_to_l2_token: public(HashMap[address, address])


event DepositReturned:
    l1_token: indexed(address)
    sender: indexed(address)
    amount: uint256


event WithdrawalInitiated:
    l1_token: indexed(address)
    sender: indexed(address)
    to: indexed(address)
    amount: uint256


@external
def set_counterpart(l1_gateway: address):
    assert self.counterpart == empty(address), "gateway: counterpart already set"
    self.counterpart = l1_gateway


@external
def register_token(l1_token: address, l2_token: address):
    assert msg.sender == self.counterpart, "gateway: only the L1 counterpart"
    self.l1_to_l2_token[l1_token] = l2_token


@external
def finalize_inbound_transfer(l1_token: address, sender: address, to: address, amount: uint256):
    assert msg.sender == self.counterpart, "gateway: only the L1 counterpart"
    l2_token: address = self.l1_to_l2_token[l1_token]
    assert l2_token != empty(address), "gateway: token not registered"
    if not self._is_counterpart_token(l2_token, l1_token):
        # Never a revert (a retryable would be stuck): the deposit goes back.
        extcall IMockL1Gateway(self.counterpart).finalize_withdrawal(l1_token, sender, amount)
        log DepositReturned(l1_token=l1_token, sender=sender, amount=amount)
        return
    extcall IArbToken(l2_token).bridgeMint(to, amount)


@external
def withdraw(l1_token: address, to: address, amount: uint256):
    l2_token: address = self.l1_to_l2_token[l1_token]
    assert l2_token != empty(address), "gateway: token not registered"
    assert l2_token.is_contract, "gateway: TOKEN_NOT_DEPLOYED"
    assert staticcall IL1Addressed(l2_token).l1Address() == l1_token, (
        "gateway: NOT_EXPECTED_L1_TOKEN"
    )
    extcall IArbToken(l2_token).bridgeBurn(msg.sender, amount)
    extcall IMockL1Gateway(self.counterpart).finalize_withdrawal(l1_token, to, amount)
    log WithdrawalInitiated(l1_token=l1_token, sender=msg.sender, to=to, amount=amount)


@internal
@view
def _is_counterpart_token(l2_token: address, l1_token: address) -> bool:
    """
    @dev Whether `l2_token` is deployed and its `l1Address()` answers `l1_token`;
         a call that fails or answers short counts as no.
    """
    if not l2_token.is_contract:
        return False
    ok: bool = False
    answer: Bytes[32] = b""
    ok, answer = raw_call(
        l2_token,
        method_id("l1Address()"),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    if not ok or len(answer) < 32:
        return False
    word: uint256 = convert(convert(answer, bytes32), uint256)
    if word > convert(max_value(uint160), uint256):
        return False  # not an address (dirty upper bytes)
    return convert(convert(word, uint160), address) == l1_token
