# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock of Arbitrum's L1 gateway router (tests only)
@custom:contract-name MockL1GatewayRouter
@notice Records which gateway a token chose, with the real router's rules:
        asked by the token itself (`isArbitrumEnabled() == 0xb1`), to a
        gateway that is a contract and already handles the token (its
        `calculateL2TokenAddress` is not zero), never changed once set.
"""


interface IArbitrumEnabledToken:
    def isArbitrumEnabled() -> uint8: view


interface IL1Gateway:
    def calculateL2TokenAddress(l1_token: address) -> address: view


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
    assert gateway.is_contract, "router: NOT_TO_CONTRACT"
    current: address = self.l1_token_to_gateway[msg.sender]
    # As the real router (which has no default gateway here): a token's gateway,
    # once set, is never changed by the token.
    assert current == empty(address) or current == gateway, (
        "router: NO_UPDATE_TO_DIFFERENT_ADDR"
    )
    # The gateway must already know the token's L2 address.
    assert staticcall IL1Gateway(gateway).calculateL2TokenAddress(msg.sender) != empty(address), (
        "router: TOKEN_NOT_HANDLED_BY_GATEWAY"
    )
    self.l1_token_to_gateway[msg.sender] = gateway
    self.ticket_count += 1
    log GatewaySet(l1_token=msg.sender, gateway=gateway)
    return self.ticket_count
