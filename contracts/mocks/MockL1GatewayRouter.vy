# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock of Arbitrum's L1 gateway router (tests only)
@custom:contract-name MockL1GatewayRouter
@notice Records which gateway a token chose, after the same
        `isArbitrumEnabled() == 0xb1` check as Arbitrum's router.
"""


interface IArbitrumEnabledToken:
    def isArbitrumEnabled() -> uint8: view


# @dev L1 token => the gateway it set.
l1_token_to_gateway: public(HashMap[address, address])
# @dev Retryable ticket ids handed out, counting up from 1.
ticket_count: public(uint256)


event GatewaySet:
    l1_token: indexed(address)
    gateway: indexed(address)


@external
@payable
def setGateway(
    gateway: address,
    max_gas: uint256,
    gas_price_bid: uint256,
    max_submission_cost: uint256,
    credit_back_address: address,
) -> uint256:
    assert staticcall IArbitrumEnabledToken(msg.sender).isArbitrumEnabled() == 177, (
        "router: NOT_ARB_ENABLED"
    )
    self.l1_token_to_gateway[msg.sender] = gateway
    self.ticket_count += 1
    log GatewaySet(l1_token=msg.sender, gateway=gateway)
    return self.ticket_count
