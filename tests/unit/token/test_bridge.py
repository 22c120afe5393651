"""Arbitrum custom-gateway bridging: L1 registration and the bridged L2 token.

Arbitrum's gateways cannot exist on a local chain, so `contracts/mocks/` holds
stand-ins that make the same checks and calls (one chain plays both layers)."""

import ape
import pytest

from sesh.rules.units import TOTAL_SUPPLY, UNIT

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
# Arguments of registerTokenOnL2 after the L2 token address, before the credit-back address.
TICKET_ARGS = (11, 12, 1_000_000, 500_000, 10**8)


@pytest.fixture
def gateways(project, deployer):
    l1_gateway = deployer.deploy(project.MockL1CustomGateway)
    l2_gateway = deployer.deploy(project.MockL2CustomGateway)
    router = deployer.deploy(project.MockL1GatewayRouter)
    l1_gateway.set_counterpart(l2_gateway, sender=deployer)
    l2_gateway.set_counterpart(l1_gateway, sender=deployer)
    return l1_gateway, l2_gateway, router


@pytest.fixture
def l1_token(project, deployer, gateways):
    l1_gateway, _, router = gateways
    return deployer.deploy(project.SessionToken, deployer, l1_gateway, router)


@pytest.fixture
def l2_token(project, deployer, gateways, l1_token):
    _, l2_gateway, _ = gateways
    return deployer.deploy(project.SessionTokenL2, l2_gateway, l1_token)


@pytest.fixture
def registered(l1_token, l2_token, deployer):
    l1_token.registerTokenOnL2(l2_token, *TICKET_ARGS, 3, 4, deployer, value=7, sender=deployer)
    return l1_token, l2_token


def test_is_arbitrum_enabled__outside_registration__refuses(l1_token):
    with ape.reverts("token: not registering on L2"):
        l1_token.isArbitrumEnabled()


def test_register_token_on_l2__registers_with_gateway_and_router(
    gateways, l1_token, l2_token, deployer
):
    l1_gateway, l2_gateway, router = gateways
    receipt = l1_token.registerTokenOnL2(
        l2_token, *TICKET_ARGS, 3, 4, deployer, value=7, sender=deployer
    )
    assert l1_gateway.l1_to_l2_token(l1_token) == l2_token
    assert l2_gateway.l1_to_l2_token(l1_token) == l2_token
    assert router.l1_token_to_gateway(l1_token) == l1_gateway
    assert l1_gateway.balance == 3 and router.balance == 4
    assert l1_token.RegisteredOnL2(l2_token, l1_gateway) in receipt.events
    # The answer was only given inside the registration.
    with ape.reverts("token: not registering on L2"):
        l1_token.isArbitrumEnabled()


def test_register_token_on_l2__by_a_non_owner__is_refused(l1_token, l2_token, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        l1_token.registerTokenOnL2(l2_token, *TICKET_ARGS, 0, 0, attacker, sender=attacker)


def test_register_token_on_l2__with_the_wrong_value__is_refused(l1_token, l2_token, deployer):
    with ape.reverts("token: value does not match the two tickets"):
        l1_token.registerTokenOnL2(l2_token, *TICKET_ARGS, 3, 4, deployer, value=6, sender=deployer)


def test_register_token_on_l2__to_the_zero_address__is_refused(l1_token, deployer):
    with ape.reverts("token: L2 token is the zero address"):
        l1_token.registerTokenOnL2(ZERO_ADDRESS, *TICKET_ARGS, 0, 0, deployer, sender=deployer)


def test_register_token_on_l2__without_a_gateway__is_refused(token, l2_token, deployer):
    with ape.reverts("token: no L1 gateway configured"):
        token.registerTokenOnL2(l2_token, *TICKET_ARGS, 0, 0, deployer, sender=deployer)


def test_gateway__registering_a_token_that_is_not_registering__is_refused(
    gateways, token, attacker
):
    """A gateway asking a token that did not start the registration gets no 0xb1."""
    l1_gateway, _, router = gateways
    with ape.reverts():
        l1_gateway.registerTokenToL2(token, 1, 1, 1, attacker, sender=attacker)
    with ape.reverts():
        router.setGateway(l1_gateway, 1, 1, 1, attacker, sender=attacker)


def test_l2_token__has_the_same_metadata_and_no_supply(l2_token, l1_token, gateways):
    _, l2_gateway, _ = gateways
    assert (l2_token.name(), l2_token.symbol(), l2_token.decimals()) == ("Session Token", "SESH", 9)
    assert l2_token.totalSupply() == 0
    assert l2_token.l1Address() == l1_token
    assert l2_token.l2Gateway() == l2_gateway


@pytest.mark.parametrize("bad", ["gateway", "l1_token"])
def test_l2_token__deploy_with_a_zero_address__is_refused(project, deployer, holder, bad):
    args = (ZERO_ADDRESS, holder) if bad == "gateway" else (holder, ZERO_ADDRESS)
    reason = (
        "token: L2 gateway is the zero address"
        if bad == "gateway"
        else "token: L1 token is the zero address"
    )
    with ape.reverts(reason):
        deployer.deploy(project.SessionTokenL2, *args)


def test_bridge_mint__by_anyone_but_the_gateway__is_refused(l2_token, attacker, deployer):
    for caller in (attacker, deployer):
        with ape.reverts("token: only the L2 gateway"):
            l2_token.bridgeMint(caller, 1, sender=caller)
    assert l2_token.totalSupply() == 0


def test_bridge_burn__by_anyone_but_the_gateway__is_refused(
    registered, gateways, deployer, holder, attacker
):
    l1_token, l2_token = registered
    l1_gateway, _, _ = gateways
    l1_token.transfer(holder, 5 * UNIT, sender=deployer)
    l1_token.approve(l1_gateway, 5 * UNIT, sender=holder)
    l1_gateway.deposit(l1_token, holder, 5 * UNIT, sender=holder)
    with ape.reverts("token: only the L2 gateway"):
        l2_token.bridgeBurn(holder, 5 * UNIT, sender=attacker)
    assert l2_token.balanceOf(holder) == 5 * UNIT


def test_deposit_and_withdraw__round_trip_keeps_l2_supply_equal_to_l1_escrow(
    registered, gateways, deployer, holder, receiver
):
    l1_token, l2_token = registered
    l1_gateway, l2_gateway, _ = gateways
    l1_token.transfer(holder, 10 * UNIT, sender=deployer)
    l1_token.approve(l1_gateway, 10 * UNIT, sender=holder)

    l1_gateway.deposit(l1_token, holder, 10 * UNIT, sender=holder)
    assert l2_token.balanceOf(holder) == 10 * UNIT
    assert l1_token.balanceOf(l1_gateway) == l2_token.totalSupply() == 10 * UNIT

    l2_gateway.withdraw(l1_token, receiver, 4 * UNIT, sender=holder)
    assert l2_token.balanceOf(holder) == 6 * UNIT
    assert l1_token.balanceOf(receiver) == 4 * UNIT
    assert l1_token.balanceOf(l1_gateway) == l2_token.totalSupply() == 6 * UNIT
    assert l1_token.totalSupply() == TOTAL_SUPPLY


def test_withdraw__beyond_the_l2_balance__is_refused_and_releases_nothing(
    registered, gateways, deployer, holder
):
    l1_token, l2_token = registered
    l1_gateway, l2_gateway, _ = gateways
    l1_token.transfer(holder, 2 * UNIT, sender=deployer)
    l1_token.approve(l1_gateway, 2 * UNIT, sender=holder)
    l1_gateway.deposit(l1_token, holder, 2 * UNIT, sender=holder)
    with ape.reverts("erc20: burn amount exceeds balance"):
        l2_gateway.withdraw(l1_token, holder, 3 * UNIT, sender=holder)
    assert l1_token.balanceOf(l1_gateway) == 2 * UNIT
    assert l2_token.balanceOf(holder) == 2 * UNIT


def test_l2_token__permit_works_as_on_l1(l2_token, holder, spender, chain):
    from sesh.contracts.permit import sign_permit

    sig = sign_permit(holder, l2_token, spender.address, 9, chain.pending_timestamp + 600)
    l2_token.permit(holder, spender, 9, *sig.as_args(), sender=spender)
    assert l2_token.allowance(holder, spender) == 9


def test_registration_is_callable_as_the_arbitrum_sdk_calls_it(l1_token):
    # Issue #16, 7: the SDK's registerCustomToken calls ICustomToken.registerTokenOnL2.
    signature = (
        "registerTokenOnL2(address,uint256,uint256,uint256,uint256,uint256,uint256,uint256,address)"
    )
    selectors = {abi.selector for abi in l1_token.contract_type.abi if abi.type == "function"}
    assert signature in selectors


# ----- the gateway mocks enforce the real gateways' rules (issue #16, 7), so a setup the
# real Arbitrum gateways would refuse fails here too


def test_gateway__registering_again_to_the_same_l2_token__is_accepted(registered, deployer):
    l1_token, l2_token = registered
    l1_token.registerTokenOnL2(l2_token, *TICKET_ARGS, 0, 0, deployer, sender=deployer)


def test_gateway__registering_again_to_another_l2_token__is_refused_for_good(
    project, registered, gateways, deployer
):
    l1_token, l2_token = registered
    l1_gateway, l2_gateway, router = gateways
    other = deployer.deploy(project.SessionTokenL2, l2_gateway, l1_token)
    with ape.reverts("gateway: NO_UPDATE_TO_DIFFERENT_ADDR"):
        l1_token.registerTokenOnL2(other, *TICKET_ARGS, 0, 0, deployer, sender=deployer)
    assert l1_gateway.l1_to_l2_token(l1_token) == l2_token
    assert router.l1_token_to_gateway(l1_token) == l1_gateway


def test_l2_gateway__registration_or_deposit_not_from_the_l1_counterpart__is_refused(
    registered, gateways, attacker
):
    l1_token, _ = registered
    _, l2_gateway, _ = gateways
    with ape.reverts("gateway: only the L1 counterpart"):
        l2_gateway.register_token(l1_token, attacker, sender=attacker)
    with ape.reverts("gateway: only the L1 counterpart"):
        l2_gateway.finalize_inbound_transfer(l1_token, attacker, attacker, 1, sender=attacker)


def test_l1_gateway__withdrawal_not_from_the_l2_counterpart__is_refused(
    registered, gateways, attacker
):
    l1_token, _ = registered
    l1_gateway, _, _ = gateways
    with ape.reverts("gateway: only the L2 counterpart"):
        l1_gateway.finalize_withdrawal(l1_token, attacker, 1, sender=attacker)


def test_deposit__to_an_l2_token_whose_l1_address_is_another_token__is_returned_not_minted(
    project, gateways, deployer, holder
):
    # A wrong setup the real gateway lets through at registration and punishes at each
    # deposit: the L2 token names another L1 token. Nothing is minted; the depositor
    # gets the escrow back on L1.
    l1_gateway, l2_gateway, router = gateways
    l1_token = deployer.deploy(project.SessionToken, deployer, l1_gateway, router)
    unrelated = deployer.deploy(project.SessionToken, deployer, ZERO_ADDRESS, ZERO_ADDRESS)
    wrong_l2 = deployer.deploy(project.SessionTokenL2, l2_gateway, unrelated)
    l1_token.registerTokenOnL2(wrong_l2, *TICKET_ARGS, 0, 0, deployer, sender=deployer)
    l1_token.transfer(holder, 3 * UNIT, sender=deployer)
    l1_token.approve(l1_gateway, 3 * UNIT, sender=holder)

    receipt = l1_gateway.deposit(l1_token, holder, 3 * UNIT, sender=holder)

    assert wrong_l2.totalSupply() == 0
    assert l1_token.balanceOf(holder) == 3 * UNIT and l1_token.balanceOf(l1_gateway) == 0
    assert l2_gateway.DepositReturned(l1_token, holder, 3 * UNIT) in receipt.events
    with ape.reverts("gateway: NOT_EXPECTED_L1_TOKEN"):
        l2_gateway.withdraw(l1_token, holder, 1, sender=holder)


def test_deposit__to_an_l2_address_without_code__is_returned(
    project, gateways, deployer, holder, receiver
):
    l1_gateway, l2_gateway, router = gateways
    l1_token = deployer.deploy(project.SessionToken, deployer, l1_gateway, router)
    l1_token.registerTokenOnL2(receiver, *TICKET_ARGS, 0, 0, deployer, sender=deployer)
    l1_token.transfer(holder, 2 * UNIT, sender=deployer)
    l1_token.approve(l1_gateway, 2 * UNIT, sender=holder)
    l1_gateway.deposit(l1_token, holder, 2 * UNIT, sender=holder)
    assert l1_token.balanceOf(holder) == 2 * UNIT
    with ape.reverts("gateway: TOKEN_NOT_DEPLOYED"):
        l2_gateway.withdraw(l1_token, holder, 1, sender=holder)
