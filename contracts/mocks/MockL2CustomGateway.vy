# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock of Arbitrum's L2 custom gateway (tests only)
@custom:contract-name MockL2CustomGateway
@notice Stands in for Arbitrum's `L2CustomGateway` on a single local chain:
        mints deposits delivered by the paired L1 gateway mock, and burns
        withdrawals before releasing the escrow on L1.
"""


interface IArbToken:
    def bridgeMint(account: address, amount: uint256): nonpayable
    def bridgeBurn(account: address, amount: uint256): nonpayable


interface IMockL1Gateway:
    def finalize_withdrawal(l1_token: address, to: address, amount: uint256): nonpayable


# @dev The L1 gateway mock this gateway talks to.
counterpart: public(address)
# @dev L1 token => its L2 token.
l1_to_l2_token: public(HashMap[address, address])


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
    extcall IArbToken(l2_token).bridgeMint(to, amount)


@external
def withdraw(l1_token: address, to: address, amount: uint256):
    l2_token: address = self.l1_to_l2_token[l1_token]
    assert l2_token != empty(address), "gateway: token not registered"
    extcall IArbToken(l2_token).bridgeBurn(msg.sender, amount)
    extcall IMockL1Gateway(self.counterpart).finalize_withdrawal(l1_token, to, amount)
    log WithdrawalInitiated(l1_token=l1_token, sender=msg.sender, to=to, amount=amount)
