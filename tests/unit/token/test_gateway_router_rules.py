"""The L1 gateway router mock enforces the real router's rules (issue #16, 7), on
titanoboa: a token may point itself only at a contract, only at a gateway that already
handles it, and never at another gateway once set. `SessionToken.registerTokenOnL2`
registers with its gateway before the router, so it always passes (tests/unit/token/
test_bridge.py); a stand-in token here reaches each refusal."""

from __future__ import annotations

import boa
import pytest

from tests.property.boa_helpers import deployer_for

# A token asking the router for itself: answers 0xb1 like ours during its registration.
ARB_ENABLED_TOKEN = """
# pragma version ~=0.4.3
interface IRouter:
    def setGateway(gateway: address, max_gas: uint256, gas_price_bid: uint256,
                   max_submission_cost: uint256, credit_back_address: address) -> uint256: payable

interface IGateway:
    def registerTokenToL2(l2_address: address, max_gas: uint256, gas_price_bid: uint256,
                          max_submission_cost: uint256,
                          credit_back_address: address) -> uint256: payable

@external
@view
def isArbitrumEnabled() -> uint8:
    return 177

@external
def register_with_gateway(gateway: address, l2_token: address):
    extcall IGateway(gateway).registerTokenToL2(l2_token, 1, 1, 1, msg.sender)

@external
def set_gateway(router: address, gateway: address):
    extcall IRouter(router).setGateway(gateway, 1, 1, 1, msg.sender)
"""
L2_TOKEN = "0x" + "12" * 20


@pytest.fixture
def router():
    return deployer_for("mocks/MockL1GatewayRouter.vy").deploy()


@pytest.fixture
def gateway():
    return deployer_for("mocks/MockL1CustomGateway.vy").deploy()


@pytest.fixture
def token():
    return boa.loads(ARB_ENABLED_TOKEN)


def test_set_gateway__to_a_gateway_that_handles_the_token__is_recorded(router, gateway, token):
    token.register_with_gateway(gateway.address, L2_TOKEN)
    token.set_gateway(router.address, gateway.address)
    assert router.l1_token_to_gateway(token.address) == gateway.address
    token.set_gateway(router.address, gateway.address)  # the same again: accepted


def test_set_gateway__to_a_gateway_that_does_not_handle_the_token__is_refused(
    router, gateway, token
):
    with boa.reverts("router: TOKEN_NOT_HANDLED_BY_GATEWAY"):
        token.set_gateway(router.address, gateway.address)


def test_set_gateway__to_an_address_without_code__is_refused(router, token):
    with boa.reverts("router: NOT_TO_CONTRACT"):
        token.set_gateway(router.address, boa.env.generate_address("eoa"))


def test_set_gateway__to_another_gateway_once_set__is_refused(router, gateway, token):
    other = deployer_for("mocks/MockL1CustomGateway.vy").deploy()
    token.register_with_gateway(gateway.address, L2_TOKEN)
    token.register_with_gateway(other.address, L2_TOKEN)
    token.set_gateway(router.address, gateway.address)
    with boa.reverts("router: NO_UPDATE_TO_DIFFERENT_ADDR"):
        token.set_gateway(router.address, other.address)
    assert router.l1_token_to_gateway(token.address) == gateway.address


def test_gateway__the_first_l2_address_is_permanent(gateway, token):
    token.register_with_gateway(gateway.address, L2_TOKEN)
    token.register_with_gateway(gateway.address, L2_TOKEN)
    with boa.reverts("gateway: NO_UPDATE_TO_DIFFERENT_ADDR"):
        token.register_with_gateway(gateway.address, "0x" + "34" * 20)
    assert gateway.calculateL2TokenAddress(token.address) == L2_TOKEN
