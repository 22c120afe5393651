# pragma version ~=0.4.3
"""
@title Token payments: pulls with an allowance or an EIP-2612 permit
@custom:contract-name payments
@license GNU General Public License v3.0 or later
@notice What every paying function of the names and Pro contracts shares:
        moving the price from the payer straight to its destination with
        `transferFrom`, and applying the payer's EIP-2612 permit first for
        the `*_with_permit` twins. The module has no storage.
        A permit someone copied from the mempool and submitted first would
        make a plain `permit` call revert and the payment with it; the
        permit's outcome is therefore ignored, and the payment goes ahead
        whenever the allowance it needed is in place.
        Reverts are prefixed `payments:` whichever contract uses the module.
"""


from ethereum.ercs import IERC20


interface IERC20Permit:
    def permit(
        owner: address,
        spender: address,
        amount: uint256,
        deadline: uint256,
        v: uint8,
        r: bytes32,
        s: bytes32,
    ): nonpayable


@internal
def _permit(
    token: address, owner: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
):
    """
    @dev Applies `owner`'s permit letting this contract spend `amount` of
         `token`; reverts unless the allowance is at least `amount` after.
    @param token The token (it must implement EIP-2612).
    @param owner The payer who signed the permit.
    @param amount The value the permit was signed for.
    @param deadline The permit's deadline.
    @param v The signature's v.
    @param r The signature's r.
    @param s The signature's s.
    """
    # The outcome is ignored on purpose (see the module's notice); the
    # allowance check below is what decides.
    success: bool = raw_call(
        token,
        abi_encode(
            owner, self, amount, deadline, v, r, s, method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)")
        ),
        revert_on_failure=False,
    )
    assert staticcall IERC20(token).allowance(owner, self) >= amount, (
        "payments: permit failed and no allowance"
    )


@internal
def _pull(token: address, payer: address, to: address, amount: uint256):
    """
    @dev Moves `amount` of `token` from `payer` to `to` with the allowance
         `payer` gave this contract. Tokens that return nothing on success
         (older stablecoins) are accepted; a `False` answer reverts.
    @param token The token.
    @param payer The account paying.
    @param to The receiver (the reward pool or the treasury).
    @param amount The amount in the token's units.
    """
    if amount == 0:
        return
    assert extcall IERC20(token).transferFrom(payer, to, amount, default_return_value=True), (
        "payments: transfer failed"
    )
