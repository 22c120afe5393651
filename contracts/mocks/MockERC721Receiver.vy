# pragma version ~=0.4.3
# pragma evm-version prague
"""
@title Mock ERC-721 receiver (tests only)
@custom:contract-name MockERC721Receiver
@notice A contract receiving names by `safeTransferFrom`: it accepts them,
        answers with a wrong value, or reverts, as the test chooses, and
        records the last call it accepted.
"""


# @dev 0: accept; 1: answer a wrong value; 2: revert.
mode: public(uint256)
# @dev The last accepted call's arguments.
last_operator: public(address)
last_owner: public(address)
last_token_id: public(uint256)
last_data: public(Bytes[1_024])


@deploy
def __init__(mode_: uint256):
    """
    @param mode_ 0 accepts, 1 answers a wrong value, 2 reverts.
    """
    self.mode = mode_


@external
def onERC721Received(
    operator: address, owner: address, token_id: uint256, data: Bytes[1_024]
) -> bytes4:
    """
    @notice ERC-721 receiver hook.
    @return bytes4 The ERC-721 magic value when accepting.
    """
    assert self.mode != 2, "receiver: refused"
    if self.mode == 1:
        return 0xDEADBEEF
    self.last_operator = operator
    self.last_owner = owner
    self.last_token_id = token_id
    self.last_data = data
    return method_id("onERC721Received(address,address,uint256,bytes)", output_type=bytes4)
